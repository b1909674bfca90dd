"""The local stack as a subprocess on free ports, for the tests and checks that drive it over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from local.template import ROOT

STARTUP_TIMEOUT = 60.0


class StackNotReady(RuntimeError):
    """The stack exited or did not serve in time; the message ends with the tail of its log."""


@contextmanager
def running_stack(workdir: Path, *extra_args: str, timeout: float = STARTUP_TIMEOUT) -> Iterator[tuple[str, Path]]:
    """Start `python -m local`, wait (bounded) until it serves, yield (base URL, log); stop it after."""
    with stack_process(workdir, *extra_args, timeout=timeout) as started:
        yield started.url, started.log


@dataclass
class StartedStack:
    url: str
    log: Path
    process: subprocess.Popen[bytes]


@contextmanager
def stack_process(
    workdir: Path, *extra_args: str, timeout: float = STARTUP_TIMEOUT, state_dir: Path | None = None
) -> Iterator[StartedStack]:
    """`running_stack`, yielding the process too (for its pid, signals, RSS). State lives in `state_dir`
    (default: a fresh folder in `workdir`, so tests never share or keep state)."""
    ready, log = workdir / "ready", workdir / "stack.log"
    ready.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": "shared", "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "local",
        "--port",
        "0",
        "--moto-port",
        "0",
        "--schedule-seconds",
        "0",
        "--ready-file",
        str(ready),
        "--state-dir",
        str(state_dir or workdir / "state"),
        *extra_args,
    ]
    with log.open("ab") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if process.poll() is not None:
                raise StackNotReady(f"local stack exited with {process.returncode}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise StackNotReady(f"local stack not ready within {timeout:g} s:\n{_tail(log)}")
            time.sleep(0.1)
        yield StartedStack(ready.read_text().strip(), log, process)
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _tail(log: Path, size: int = 4000) -> str:
    return log.read_text(errors="replace")[-size:] if log.exists() else "(no log)"
