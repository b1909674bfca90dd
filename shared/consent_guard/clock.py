"""The one place that reads the wall clock, so services take `now` as an argument and tests can freeze it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def _system_now() -> datetime:
    return datetime.now(UTC)


_source: Clock = _system_now


def utc_now() -> datetime:
    return _source()


def set_time_source(source: Clock | None) -> None:
    """Replace where `utc_now` reads the time (None: the system clock). Only the local runner's movable clock
    (`local/clock.py`, `POST /local/clock`) calls this; no deployed code does, and a test checks that."""
    global _source
    _source = source or _system_now
