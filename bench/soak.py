"""Soak: many reports through the running local stack (`python -m local`, durable state), over real HTTP.

What a user's `make run` does for an afternoon, compressed: platform context for each post, then reports from many
reporters (first person first, then bystanders), by several concurrent clients, while the pipeline (evaluation,
decisions, enforcement, notifications) runs in the same process. Measured: POST /reports latency (client wall time)
in the first and the last window of `window` reports, the process's RSS at those points, the journal's size, and
any invocation that overran its function timeout. A second, paired run compares the durable journal with
`--in-memory`: the CPU time each stack process spends on the same batches of reports, in one run.
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
    rss_trajectory: list[tuple[int, float]] = field(default_factory=list)  # (reports so far, RSS MB)

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
            result.rss_trajectory.append((window, result.rss_first_mb))
            done = window
            while done < reports - window:
                step = min(reports - window - done, 1_000)
                _run_range(driver, done, done + step, clients)
                done += step
                result.rss_trajectory.append((done, rss_mb(stack.process.pid)))
                rss = result.rss_trajectory[-1][1]
                log(f"  {done:,} reports, RSS {rss:.0f} MB, {time.perf_counter() - started:.0f} s")
            result.last = _run_range(driver, done, reports, clients)
            result.rss_last_mb = rss_mb(stack.process.pid)
            result.rss_trajectory.append((reports, result.rss_last_mb))
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


JOURNAL_BATCH = 20  # reports per paired measurement: enough CPU time for the clock's 10 ms resolution


@dataclass
class JournalCost:
    """Per batch of JOURNAL_BATCH reports (sent, then the pipeline drained), the stack process's CPU time per report,
    durable and --in-memory, the two measured one after the other in alternating order; and each request's wall
    time."""

    rounds: int
    durable_cpu_ms: list[float]
    memory_cpu_ms: list[float]
    durable_ms: list[float] = field(default_factory=list)
    memory_ms: list[float] = field(default_factory=list)

    @property
    def paired_ratios(self) -> list[float]:
        return [d / m for d, m in zip(self.durable_cpu_ms, self.memory_cpu_ms, strict=True)]

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.paired_ratios)

    @property
    def iqr(self) -> tuple[float, float]:
        q = statistics.quantiles(self.paired_ratios, n=4)
        return q[0], q[2]

    @property
    def median_delta_ms(self) -> float:
        """CPU ms per report (the report's whole pipeline, every write of it journaled), durable - in-memory."""
        return statistics.median(d - m for d, m in zip(self.durable_cpu_ms, self.memory_cpu_ms, strict=True))

    @property
    def wall_ratio(self) -> float:
        return statistics.median(self.durable_ms) / statistics.median(self.memory_ms)


def _drained(driver: Driver) -> bool:
    return sum(q["total"] for n, q in driver.client.queues().items() if not n.endswith("DLQ")) == 0


def journal_cost(rounds: int = 400) -> JournalCost:
    """The same report stream to a durable and an --in-memory stack in one run: batch by batch (JOURNAL_BATCH
    reports, then wait until the pipeline is idle), alternating which goes first, the CPU time each stack process
    spent on the batch. `rounds` reports go to each."""
    result = JournalCost(rounds, [], [])
    with tempfile.TemporaryDirectory(prefix="cg-journal-") as tmp:
        work = Path(tmp)
        (work / "d").mkdir()
        (work / "m").mkdir()
        with (
            stack_process(work / "d", state_dir=work / "d" / "state", timeout=120) as d,
            stack_process(work / "m", "--in-memory", timeout=120) as m,
        ):
            pids = {"d": d.process.pid, "m": m.process.pid}
            drivers = {"d": Driver(d, "j"), "m": Driver(m, "j")}
            for batch, start in enumerate(range(0, rounds, JOURNAL_BATCH)):
                stop = min(rounds, start + JOURNAL_BATCH)
                for name in ("d", "m") if batch % 2 == 0 else ("m", "d"):  # neither always goes first
                    driver, before = drivers[name], cpu_seconds(pids[name])
                    latencies = [driver.report(n) for n in range(start, stop)]
                    LocalStackClient.wait_until(lambda driver=driver: _drained(driver), timeout=300, interval=0.2)
                    per_report = (cpu_seconds(pids[name]) - before) * 1000 / (stop - start)
                    (result.durable_cpu_ms if name == "d" else result.memory_cpu_ms).append(per_report)
                    (result.durable_ms if name == "d" else result.memory_ms).extend(latencies)
            for driver in drivers.values():
                driver.close()
    return result


def details(run: SoakResult, journal: JournalCost) -> dict[str, Any]:
    """The figures behind the soak's metrics, for bench/results.json."""

    def dist(values: list[float]) -> dict[str, float]:
        return {"p50": round(percentile(values, 50), 1), "p99": round(percentile(values, 99), 1), "n": len(values)}

    low, high = journal.iqr
    return {
        "reports": run.reports,
        "window": run.window,
        "clients": run.clients,
        "post_reports_ms_first_window": dist(run.first),
        "post_reports_ms_last_window": dist(run.last),
        "rss_mb_at_first_window": round(run.rss_first_mb, 1),
        "rss_mb_at_end": round(run.rss_last_mb, 1),
        "rss_mb_per_1k_reports": round(run.rss_mb_per_1k, 2),
        "rss_mb_trajectory": {str(n): round(mb, 1) for n, mb in run.rss_trajectory},
        "posting_seconds": round(run.seconds, 1),
        "reports_per_second": round(run.reports / run.seconds, 2) if run.seconds else None,
        "drained_after_s": None if run.drained_s is None else round(run.drained_s, 1),
        "journal_mb": round(run.journal_mb, 1),
        "errors": run.errors,
        "function_timeouts": run.timeouts,
        "journal_cost": {
            "method": f"batches of {JOURNAL_BATCH} reports to a durable and an --in-memory stack in one run, "
            "alternating which goes first, each batch followed by the pipeline draining; the stack process's CPU time",
            "reports_each": journal.rounds,
            "cpu_ms_per_report_durable": [round(v, 1) for v in journal.durable_cpu_ms],
            "cpu_ms_per_report_in_memory": [round(v, 1) for v in journal.memory_cpu_ms],
            "median_paired_ratio": round(journal.median_ratio, 3),
            "iqr": [round(low, 3), round(high, 3)],
            "median_delta_cpu_ms_per_report": round(journal.median_delta_ms, 2),
            "post_reports_wall_ms_durable_p50": round(statistics.median(journal.durable_ms), 1),
            "post_reports_wall_ms_in_memory_p50": round(statistics.median(journal.memory_ms), 1),
        },
    }
