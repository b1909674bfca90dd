"""Soak: many reports through the running local stack (`python -m local`, durable state), over real HTTP.

What a user's `make run` does for an afternoon, compressed: platform context for each post, then reports from many
reporters (first person first, then bystanders), by several concurrent clients, while the pipeline (evaluation,
decisions, enforcement, notifications) runs in the same process. Measured: POST /reports latency (client wall time)
in the first and the last window of `window` reports, the process's RSS at those points, the journal's size, and
any invocation that overran its function timeout. A second, paired run compares the durable journal with
`--in-memory`, request by request, for the journal's cost per request.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from local.client import LocalStackClient
from local.process import StartedStack, stack_process

CATEGORIES = ("contact_information", "private_media", "intimate_media", "home_address_or_location")
REPORTS_PER_POST = 5
REPORTS_PER_REPORTER = 40  # below the hourly quota of 50
FULL = {"accurate_and_complete": True, "information_is_mine": True, "not_published_elsewhere": True}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class SoakResult:
    reports: int
    window: int
    clients: int
    first: list[float] = field(default_factory=list)  # ms, POST /reports of the first window
    last: list[float] = field(default_factory=list)
    rss_first_mb: float = 0.0
    rss_last_mb: float = 0.0
    journal_mb: float = 0.0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    drained_s: float | None = None

    def p(self, values: list[float], q: float) -> float:
        return percentile(values, q)

    @property
    def p99_ratio(self) -> float:
        return self.p(self.last, 99) / self.p(self.first, 99)

    @property
    def rss_mb_per_1k(self) -> float:
        return (self.rss_last_mb - self.rss_first_mb) / ((self.reports - self.window) / 1000)


def _report_body(n: int, suffix: str) -> tuple[str, dict[str, Any]]:
    post = n // REPORTS_PER_POST
    first = n % REPORTS_PER_POST == 0
    body: dict[str, Any] = {
        "post_id": f"soak-{suffix}-p{post}",
        "category": CATEGORIES[post % len(CATEGORIES)],
        "relationship": "self" if first else "other",
        "description": "soak test report",
        "attestations": FULL if first else {"accurate_and_complete": True},
    }
    # the reports on one post come from different people; each person reports on REPORTS_PER_REPORTER posts
    reporter = f"{n % REPORTS_PER_POST}-{post // REPORTS_PER_REPORTER}"
    return f"soak-{suffix}-u{reporter}", body


class Driver:
    def __init__(self, stack: StartedStack, suffix: str) -> None:
        self.client = LocalStackClient(stack.url, timeout=120)
        self.suffix = suffix
        self.platform = self.client.as_platform()
        self._users: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()
        self.errors: dict[str, int] = {}

    def user(self, sub: str) -> httpx.Client:
        with self._lock:
            if sub not in self._users:
                self._users[sub] = self.client.as_user(sub)
            return self._users[sub]

    def context(self, post: int) -> None:
        self.platform.put(
            f"/context/posts/soak-{self.suffix}-p{post}",
            json={
                "author_id": f"soak-{self.suffix}-a{post % 997}",
                "text": "a post",
                "media": [{"media_id": f"soak-{self.suffix}-m{post}", "media_type": "photo"}],
                "created_at": "2026-11-01T00:00:00Z",
            },
        )

    def report(self, n: int) -> float:
        if n % REPORTS_PER_POST == 0:
            self.context(n // REPORTS_PER_POST)
        sub, body = _report_body(n, self.suffix)
        client = self.user(sub)
        started = time.perf_counter()
        response = client.post("/reports", json=body)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 202:
            key = str(response.status_code)
            with self._lock:
                self.errors[key] = self.errors.get(key, 0) + 1
        return elapsed

    def close(self) -> None:
        self.client.close()


def _run_range(driver: Driver, start: int, stop: int, clients: int) -> list[float]:
    """Reports start..stop-1, `clients` at a time; the latencies in report order."""
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(driver.report, range(start, stop)))


def soak(
    reports: int = 20_000, window: int = 1_000, clients: int = 4, log: Callable[[str], None] = print
) -> SoakResult:
    """`reports` reports (`SOAK_REPORTS` in the environment overrides it, for a shorter CI run; the bench's default
    stays 20,000), `clients` at a time; the first and the last `window` are measured."""
    if os.environ.get("SOAK_REPORTS"):
        reports = int(os.environ["SOAK_REPORTS"])
        window = min(window, reports // 4)
        log(f"  SOAK_REPORTS={reports:,}: a shorter run than the bench's default (window {window:,})")
    result = SoakResult(reports, window, clients)
    with tempfile.TemporaryDirectory(prefix="cg-soak-") as tmp:
        work = Path(tmp)
        with stack_process(work, "--schedule-seconds", "0", state_dir=work / "state", timeout=120) as stack:
            driver = Driver(stack, "s")
            started = time.perf_counter()
            result.first = _run_range(driver, 0, window, clients)
            result.rss_first_mb = rss_mb(stack.process.pid)
            done = window
            while done < reports - window:
                step = min(reports - window - done, 2_000)
                _run_range(driver, done, done + step, clients)
                done += step
                log(
                    f"  {done:,} reports, RSS {rss_mb(stack.process.pid):.0f} MB, {time.perf_counter() - started:.0f} s"
                )
            result.last = _run_range(driver, done, reports, clients)
            result.rss_last_mb = rss_mb(stack.process.pid)
            result.seconds = time.perf_counter() - started
            drain_started = time.perf_counter()
            try:
                LocalStackClient.wait_until(
                    lambda: sum(q["total"] for n, q in driver.client.queues().items() if not n.endswith("DLQ")) == 0,
                    timeout=600,
                    interval=1,
                )
                result.drained_s = time.perf_counter() - drain_started
            except TimeoutError:
                result.drained_s = None
            result.errors = dict(driver.errors)
            driver.close()
            result.journal_mb = sum(p.stat().st_size for p in (work / "state").glob("*")) / 1024**2
            result.timeouts = stack.log.read_text(errors="replace").count("exceeded the function timeout")
    return result


@dataclass
class JournalCost:
    rounds: int
    durable_ms: list[float]
    memory_ms: list[float]

    @property
    def paired_ratios(self) -> list[float]:
        return [d / m for d, m in zip(self.durable_ms, self.memory_ms, strict=True)]

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.paired_ratios)

    @property
    def iqr(self) -> tuple[float, float]:
        q = statistics.quantiles(self.paired_ratios, n=4)
        return q[0], q[2]

    @property
    def median_delta_ms(self) -> float:
        return statistics.median(d - m for d, m in zip(self.durable_ms, self.memory_ms, strict=True))


def journal_cost(rounds: int = 400) -> JournalCost:
    """The same report stream to a durable and an in-memory stack, alternating request by request (paired)."""
    durable: list[float] = []
    memory: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cg-journal-") as tmp:
        work = Path(tmp)
        (work / "d").mkdir()
        (work / "m").mkdir()
        with (
            stack_process(work / "d", state_dir=work / "d" / "state", timeout=120) as d,
            stack_process(work / "m", "--in-memory", timeout=120) as m,
        ):
            drivers = Driver(d, "j"), Driver(m, "j")
            for n in range(rounds):
                order = drivers if n % 2 == 0 else drivers[::-1]  # neither always goes first
                for driver in order:
                    (durable if driver is drivers[0] else memory).append(driver.report(n))
            for driver in drivers:
                driver.close()
    return JournalCost(rounds, durable, memory)
