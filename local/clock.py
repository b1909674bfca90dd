"""The local stack's movable clock: `POST /local/clock {"advance": "P15D"}` moves the time every function sees.

Local only: it sets `consent_guard.clock`'s time source in this process, which nothing deployed does. Time only moves
forward (timers, appeal windows and ids assume it never runs backwards). The offset is journaled with the rest of
the state, so a restart keeps the moved time. AWS's own clocks (SQS visibility, token expiry) are not moved.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from consent_guard import clock
from local.persistence import StateStore

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
MAX_ADVANCE = timedelta(days=3660)


class InvalidDuration(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds (P15D, PT1H30M, P1DT12H, P2W)."""
    match = _DURATION.match(text.strip().upper()) if isinstance(text, str) else None
    if match is None:
        raise InvalidDuration("an ISO 8601 duration such as P15D, PT4H or P1DT12H (years and months are ambiguous)")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    duration = timedelta(**parts)
    if duration <= timedelta(0):
        raise InvalidDuration("the clock only moves forward: give a positive duration")
    if duration > MAX_ADVANCE:
        raise InvalidDuration("at most P3660D at a time")
    return duration


class LocalClock:
    def __init__(self, store: StateStore | None) -> None:
        self.store = store
        self.offset_s = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset_s)

    def install(self) -> None:
        clock.set_time_source(self.now)

    def uninstall(self) -> None:
        clock.set_time_source(None)

    def advance(self, duration: timedelta) -> None:
        with self._lock:
            self.offset_s += duration.total_seconds()
            if self.store is not None:
                self.store.append({"k": "clock", "offset_s": self.offset_s})

    def describe(self) -> dict[str, Any]:
        return {
            "now": self.now().isoformat().replace("+00:00", "Z"),
            "system_now": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "offset_seconds": round(self.offset_s, 3),
        }
