"""The statistics' cost per event, after 1 000 and after 100 000 events counted (issue 17).

Two tables on moto (in this process), each filled through the product's own path - `counter_updates`, the ADDs the
effects function puts in the transaction of an outbox item's removal for its `stats` effect (the removal itself is
the delivery's own write, priced in the pipeline bench) - with the same synthetic stream: a notice (category,
source) for every event and, for every other one, a decision with its time to decision in the histogram, spread
over 30 days and the 15 categories, so the daily items fill up as they would. Then windows of events are added to
both, alternating which goes first (paired round by round), and each window's cost per event is measured: DynamoDB
calls, write request units (from the items' sizes before and after, transactional writes at twice the price;
bench/awscalls.py), and process time. `stats.cost_ratio_100k_vs_1k` is the write units per event after 100k over
after 1k."""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.awscalls import CapacityMeter, Recorder, TableShape
from consent_guard.models.domain import Category
from consent_guard.repository.stats import counter_updates
from consent_guard.services.stats_effects import _Rows

START = datetime(2026, 11, 1, tzinfo=UTC)
CATEGORIES = [c.value for c in Category]
SOURCES = ["person", "person", "person", "representative", "trusted_flagger"]
OUTCOMES = ["remove", "no_violation"]


def event_rows(n: int, rng: random.Random) -> list[tuple[str, str, int]]:
    """The rows of the n-th synthetic event: what services/stats_effects.py derives for a notice, and for a decision."""
    rows = _Rows()
    at = START + timedelta(days=n % 30, seconds=rng.randrange(86_400))
    category = CATEGORIES[rng.randrange(len(CATEGORIES))]
    rows.add(at, "notices", "total")
    rows.add(at, "notices", f"category:{category}")
    rows.add(at, "notices", f"source:{SOURCES[rng.randrange(len(SOURCES))]}")
    if n % 2:
        mode = "automated" if rng.random() < 0.5 else "human"
        outcome = OUTCOMES[rng.randrange(2)]
        for attr in ("total", f"mode:{mode}", f"outcome:{outcome}", f"outcome:{outcome}:{mode}"):
            rows.add(at, "decisions", attr)
        rows.add(at, "decisions", f"category:{category}")
        seconds = 10 ** rng.uniform(0, 6)  # 1 s to 11 days
        rows.duration(at, f"ttd|{category}|{mode}", seconds)  # the all-categories one is their sum, when read
    return rows.rows()


@dataclass
class Window:
    events: int
    calls: int
    write_units: float
    cpu_seconds: float

    @property
    def wru_per_event(self) -> float:
        return self.write_units / self.events

    @property
    def calls_per_event(self) -> float:
        return self.calls / self.events

    @property
    def cpu_us_per_event(self) -> float:
        return self.cpu_seconds / self.events * 1e6


@dataclass
class StatsCost:
    small: int
    large: int
    fill_seconds: float
    small_windows: list[Window]
    large_windows: list[Window]

    def _total(self, windows: list[Window]) -> Window:
        return Window(
            sum(w.events for w in windows),
            sum(w.calls for w in windows),
            sum(w.write_units for w in windows),
            sum(w.cpu_seconds for w in windows),
        )

    @property
    def wru_ratio(self) -> float:
        return self._total(self.large_windows).wru_per_event / self._total(self.small_windows).wru_per_event

    @property
    def calls_ratio(self) -> float:
        return self._total(self.large_windows).calls_per_event / self._total(self.small_windows).calls_per_event

    @property
    def cpu_ratios(self) -> list[float]:
        return [
            large.cpu_seconds / small.cpu_seconds
            for small, large in zip(self.small_windows, self.large_windows, strict=True)
        ]

    def summary(self) -> dict[str, Any]:
        small, large = self._total(self.small_windows), self._total(self.large_windows)
        cpu = self.cpu_ratios
        q = statistics.quantiles(cpu, n=4) if len(cpu) > 1 else [cpu[0], cpu[0], cpu[0]]
        return {
            "events_before": {"small": self.small, "large": self.large},
            "window_events": small.events,
            "wru_per_event": {"small": round(small.wru_per_event, 3), "large": round(large.wru_per_event, 3)},
            "calls_per_event": {"small": round(small.calls_per_event, 3), "large": round(large.calls_per_event, 3)},
            "cpu_us_per_event": {"small": round(small.cpu_us_per_event, 1), "large": round(large.cpu_us_per_event, 1)},
            "cpu_ratio_median": round(statistics.median(cpu), 3),
            "cpu_ratio_iqr": [round(q[0], 3), round(q[2], 3)],
            "fill_seconds": round(self.fill_seconds, 1),
        }


class _Table:
    def __init__(self, session: Any, name: str, recorder: Recorder) -> None:
        self.client = session.client("dynamodb")
        self.name = name
        self.recorder = recorder
        self.rng = random.Random(17)  # noqa: S311 - a reproducible synthetic stream, the same for every table
        self.n = 0

    def add(self, count: int) -> None:
        for _ in range(count):
            effect = (f"bench:{self.n}:stats", event_rows(self.n, self.rng))
            self.client.transact_write_items(TransactItems=counter_updates(self.name, [effect]))
            self.n += 1

    def load(self, count: int) -> None:
        """The items `count` adds leave behind, summed here and written once each (moto parses every update
        expression, so 100k transactions would take most of an hour on this machine; the items are the same, which
        `same_items` checks, and an ADD's price depends on its item's size only)."""
        from consent_guard.ids import shard_of
        from consent_guard.repository.stats import STATS_SHARDS, stats_partition

        totals: dict[tuple[str, str], dict[str, int]] = {}
        for _ in range(count):
            pk = stats_partition(shard_of(f"bench:{self.n}:stats", STATS_SHARDS))
            for sk, attr, n in event_rows(self.n, self.rng):
                attrs = totals.setdefault((pk, sk), {})
                attrs[attr] = attrs.get(attr, 0) + n
            self.n += 1
        for (pk, sk), attrs in totals.items():
            item = {"PK": {"S": pk}, "SK": {"S": sk}, "type": {"S": "stats"}}
            item |= {a: {"N": str(v)} for a, v in attrs.items()}
            self.client.put_item(TableName=self.name, Item=item)

    def items(self) -> dict[tuple[str, str], dict[str, str]]:
        found: dict[tuple[str, str], dict[str, str]] = {}
        kwargs: dict[str, Any] = {"TableName": self.name}
        while True:
            page = self.client.scan(**kwargs)
            for item in page["Items"]:
                if item["PK"]["S"].startswith("STATS#"):
                    found[(item["PK"]["S"], item["SK"]["S"])] = {
                        k: next(iter(v.values())) for k, v in item.items() if k not in ("PK", "SK")
                    }
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def window(self, count: int) -> Window:
        first = len(self.recorder.calls)
        keep, self.recorder.keep_calls = self.recorder.keep_calls, True
        self.recorder.take()
        with self.recorder.labelled("stats"):
            self.add(count)
        _, cpu, _ = self.recorder.take()
        calls = self.recorder.calls[first:]
        del self.recorder.calls[first:]
        self.recorder.keep_calls = keep
        return Window(count, len(calls), sum(c.capacity.total_write_units for c in calls if c.capacity), cpu)


def stats_cost(
    small: int = 1_000, large: int = 100_000, rounds: int = 10, window: int = 100, recorder: Recorder | None = None
) -> StatsCost:
    """`small` events added one by one to one table, the state `large` events leave loaded into another (checked
    against adds at the small size), then `rounds` paired windows of `window` events added to each."""
    import boto3
    from moto import mock_aws

    from local import moto_adapt
    from local.template import create_resources, resources

    moto_adapt.apply()  # O(items touched) transactions, as the local stack runs them
    if recorder is None:  # the bench's own recorder (one per process: its hooks share the call's context)
        recorder = Recorder()
        recorder.install()  # before the session: its clients carry the hooks
    meter = recorder.meter
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        name = create_resources(session).tables["ConsentGuardTable"]
        props = resources("AWS::DynamoDB::Table")["ConsentGuardTable"]["Properties"]
        client = session.client("dynamodb")
        spec = client.describe_table(TableName=name)["Table"]
        for other in ("large", "check"):
            client.create_table(
                TableName=f"{name}-{other}",
                AttributeDefinitions=[a for a in spec["AttributeDefinitions"] if a["AttributeName"] in ("PK", "SK")],
                KeySchema=spec["KeySchema"],
                BillingMode="PAY_PER_REQUEST",
            )
        # stats items carry no index keys: the base table's units are the whole cost
        recorder.meter = CapacityMeter(session.client("dynamodb"), TableShape.from_template(props))
        tables = _Table(session, name, recorder), _Table(session, f"{name}-large", recorder)
        check = _Table(session, f"{name}-check", recorder)
        started = time.perf_counter()
        tables[0].add(small)
        fill = time.perf_counter() - started
        check.load(small)
        if check.items() != tables[0].items():
            raise AssertionError("loaded items differ from added ones: the large table would not be what adds leave")
        tables[1].load(large)
        windows: tuple[list[Window], list[Window]] = ([], [])
        try:
            for r in range(rounds):
                for which in (0, 1) if r % 2 == 0 else (1, 0):  # neither always goes first
                    windows[which].append(tables[which].window(window))
        finally:
            recorder.meter = meter
        return StatsCost(small, large, fill, windows[0], windows[1])
