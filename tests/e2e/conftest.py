"""End-to-end fixtures: the local stack (`python -m local`) as a subprocess, driven over real HTTP."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from local.client import LocalStackClient
from local.process import StackNotReady, running_stack

E2E_DIR = Path(__file__).resolve().parent
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
    try:
        with running_stack(workdir) as (url, log), LocalStackClient(url) as client:
            yield LocalStackHandle(url, client, log)
    except StackNotReady as exc:
        pytest.fail(str(exc))


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
