"""What every check returns, and the pytest-backed checks: node ids run in one pytest session, results by check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from local.template import ROOT


@dataclass
class CheckResult:
    number: int
    name: str
    passed: bool
    figure: str
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.number:>2} {self.name:<22} {self.figure}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PytestCheck:
    """A check made of pytest tests: existing ones (by node id) and the scorecard's own (whole files)."""

    number: int
    name: str
    tests: tuple[str, ...]
    summary: str  # what the tests prove, for the figure


def collect(tests: list[str]) -> tuple[set[str], str]:
    """Node ids pytest finds for these paths/ids (missing ones are simply absent); a directory stands for its tests."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *_existing_paths(tests)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    found = {line.strip() for line in result.stdout.splitlines() if "::" in line and not line.startswith(" ")}
    return found, result.stdout[-3000:] + result.stderr[-3000:]


def _existing_paths(tests: list[str]) -> list[str]:
    return sorted({t.split("::", 1)[0] for t in tests if (ROOT / t.split("::", 1)[0]).exists()})


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": "shared", "PYTHONUNBUFFERED": "1"}


def selected(test: str, found: set[str]) -> list[str]:
    """The collected node ids a check entry stands for: one node id (with its parametrisations), a file or a folder."""
    if "::" in test:
        return sorted(n for n in found if n == test or n.startswith(test + "["))
    return sorted(n for n in found if n.split("::", 1)[0] == test or n.startswith(test.rstrip("/") + "/"))


def run_pytest(
    checks: list[PytestCheck], workers: int, also: tuple[str, ...] = (), calls_dir: Path | None = None
) -> list[CheckResult]:
    """One pytest session for the checks' tests (and `also`: more test files, e.g. for recording AWS calls)."""
    everything = [t for check in checks for t in check.tests] + list(also)
    found, collect_output = collect(everything)
    node_ids = sorted({n for t in everything for n in selected(t, found)})
    results_file = Path(tempfile.mkdtemp(prefix="scorecard-pytest-")) / "results.json"
    extra_env = {"SCORECARD_CALLS": str(calls_dir)} if calls_dir else {}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.scorecard.plugin",
        "-W",
        "ignore::DeprecationWarning",
        *(["-n", str(workers), "--dist", "loadfile"] if workers > 1 else []),
        *node_ids,
    ]
    completed = subprocess.run(  # noqa: S603
        command,
        cwd=ROOT,
        env={**_env(), "SCORECARD_RESULTS": str(results_file), **extra_env},
        capture_output=True,
        text=True,
        check=False,
    )
    outcomes: dict[str, dict[str, Any]] = json.loads(results_file.read_text()) if results_file.exists() else {}
    out = []
    for check in checks:
        details: list[str] = []
        ids: list[str] = []
        for test in check.tests:
            matched = selected(test, found)
            if not matched:
                details.append(f"not found: {test}")
            ids += matched
        passed_ids = [n for n in ids if outcomes.get(n, {}).get("outcome") == "passed"]
        for node in ids:
            outcome = outcomes.get(node)
            if outcome is None:
                details.append(f"did not run: {node}")
            elif outcome["outcome"] != "passed":
                details.append(f"{outcome['outcome'].upper()}: {node}\n{outcome.get('longrepr', '')[-2500:]}")
        figures = [f for n in ids for f in outcomes.get(n, {}).get("figures", [])]
        if not outcomes:
            details.append(f"pytest produced no results:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
        if not found:
            details.append(f"collection failed:\n{collect_output}")
        passed = bool(ids) and len(passed_ids) == len(ids) and not details
        figure = f"{len(passed_ids)}/{len(ids)} tests: {check.summary}"
        if figures:
            figure += "; " + "; ".join(figures)
        out.append(CheckResult(check.number, check.name, passed, figure, details))
    return out
