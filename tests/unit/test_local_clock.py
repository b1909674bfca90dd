"""The local runner's movable clock: durations it accepts, and that no product code can move time."""

from __future__ import annotations

import ast
from datetime import timedelta

import pytest

from local.clock import InvalidDuration, parse_duration
from local.template import ROOT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P15D", timedelta(days=15)),
        ("PT4H", timedelta(hours=4)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(weeks=2)),
        ("PT90M", timedelta(minutes=90)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("p365d", timedelta(days=365)),
    ],
)
def test_iso_8601_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "15D", "P1Y", "P1M", "-P1D", "P0D", "PT0S", "P1DT", "P99999D", "1"])
def test_what_is_not_a_forward_duration_is_refused(text: str) -> None:
    with pytest.raises(InvalidDuration):
        parse_duration(text)


def test_only_the_local_runner_sets_the_time_source() -> None:
    """`consent_guard.clock.set_time_source` exists for `local/clock.py`; nothing deployed may call it."""
    callers = []
    for folder in ("shared", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                defining_module = path.name == "clock.py" and path.parent.name == "consent_guard"
                named = isinstance(node, ast.Attribute | ast.Name) and "set_time_source" in ast.unparse(node)
                if named and not defining_module:
                    callers.append(str(path.relative_to(ROOT)))
    assert callers == []
