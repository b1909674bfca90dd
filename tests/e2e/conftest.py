"""End-to-end fixtures: the local stack (`python -m tests.local_stack`) as a subprocess, driven over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.local_stack.client import LocalStackClient
from tests.support.template import ROOT

E2E_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 60.0
LOG_TAIL = 20_000
_LOG_KEY = pytest.StashKey[tuple[Path, int]]()


class LocalStackHandle(NamedTuple):
    url: str
    client: LocalStackClient
    log: Path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/e2e is an e2e test and may open loopback sockets (pytest-socket)."""
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.enable_socket)


def _log_tail(log: Path, offset: int = 0) -> str:
    try:
        with log.open("rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return text[-LOG_TAIL:]


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHandle]:
    """Start the local stack on free ports, wait until it serves, yield (url, client, log); stop it afterwards."""
    workdir = tmp_path_factory.mktemp("local_stack")
    ready_file = workdir / "ready"
    log = workdir / "stack.log"
    env = {**os.environ, "PYTHONPATH": "shared", "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "tests.local_stack",
        "--port",
        "0",
        "--moto-port",
        "0",
        "--schedule-seconds",
        "0",
        "--ready-file",
        str(ready_file),
    ]
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready_file.exists():
            if process.poll() is not None:
                pytest.fail(f"local stack exited with {process.returncode} before serving:\n{_log_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"local stack not ready within {STARTUP_TIMEOUT:g} s:\n{_log_tail(log)}")
            time.sleep(0.1)
        url = ready_file.read_text().strip()
        with LocalStackClient(url) as client:
            yield LocalStackHandle(url, client, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(autouse=True)
def _stack_log_offset(request: pytest.FixtureRequest, local_stack: LocalStackHandle) -> None:
    """Remember where the stack's log stood when the test started, to attach what it logged if the test fails."""
    request.node.stash[_LOG_KEY] = (local_stack.log, local_stack.log.stat().st_size)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and _LOG_KEY in item.stash:
        log, offset = item.stash[_LOG_KEY]
        report.sections.append(("local stack log (during this test)", _log_tail(log, offset)))
    return report
