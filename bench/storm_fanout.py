"""The 100,000-reporter storm (issue 12): one post reported 100,000 times, decided once by a moderator, every
reporter told exactly once, by a fan-out whose memory and time per invocation are flat in the number of reporters.

The reports are seeded, not submitted: a handful go through the real intake and evaluation handlers (so the case
is real, in review), the rest are copies of the stored report items with their own report and reporter ids,
written with BatchWriteItem (100,000 HTTP calls on moto would take an hour and measure intake, which the storm
phase measures). The decision (POST /cases/{id}/decisions) and the whole fan-out run through the real handlers:
the effects function, one SQS message per invocation, the notification requests read back from the queue.

Paired and honest: small cases (1,000 reporters) are decided at intervals *during* the large one's fan-out, so
their steps run in the same process state and machine load as the large one's. Time is the handler's own process
time (moto's share, inside AWS calls, subtracted); memory is tracemalloc's peak during the invocation outside AWS
calls (moto plays DynamoDB and SQS in this process: its transient work is not the function's, what a call returns
is). Traced and timed steps alternate (tracing slows what it traces), and only full pages are compared."""

from __future__ import annotations

import json
import statistics
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bench.awscalls import Recorder
from bench.driver import Driver, http_event, load_event, report_body, sqs_event, sqs_template

EFFECTS = "EffectsFunction"
TEMPLATE_REPORTS = 4  # submitted through the handlers; the rest are copies of these


@dataclass
class Step:
    case: str  # "small" or "large"
    told: int  # reporters' notifications the step queued
    handler_cpu_ms: float | None  # timed steps
    wall_ms: float  # the whole invocation, moto included: what the timeout is compared with
    peak_kib: float | None  # traced steps


@dataclass
class StormFanOut:
    large: int
    small: int
    small_cases: int
    page: int
    timeout_s: float
    steps: list[Step] = field(default_factory=list)
    reporters: dict[str, int] = field(default_factory=dict)  # case id -> reporters
    told_once: dict[str, int] = field(default_factory=dict)  # case id -> reporters told exactly once
    duplicates: int = 0  # notification requests for a reporter already told
    decide_ms: dict[str, float] = field(default_factory=dict)  # case id -> the decision's handler CPU time
    seed_s: float = 0.0
    fan_out_s: float = 0.0

    def full(self, case: str) -> list[Step]:
        return [s for s in self.steps if s.case == case and s.told == self.page]

    def median_time(self, case: str) -> float:
        return statistics.median(s.handler_cpu_ms for s in self.full(case) if s.handler_cpu_ms is not None)

    def peak(self, case: str) -> float:
        return max(s.peak_kib for s in self.full(case) if s.peak_kib is not None)

    @property
    def time_ratio(self) -> float:
        return self.median_time("large") / self.median_time("small")

    @property
    def memory_ratio(self) -> float:
        return self.peak("large") / self.peak("small")

    @property
    def max_wall_ms(self) -> float:
        return max(s.wall_ms for s in self.steps)

    @property
    def everyone_told_once(self) -> bool:
        return self.duplicates == 0 and all(self.told_once.get(c) == n for c, n in self.reporters.items())


class PeakOutsideCalls:
    """tracemalloc's peak while the handler runs, with the transient memory of AWS calls (moto) left out: the
    peak is taken before each call and reset after it (so what the call returned counts, moto's work does not)."""

    def __init__(self) -> None:
        self.active = False
        self.peak = 0

    def before(self, **_: Any) -> None:
        if self.active:
            self.peak = max(self.peak, tracemalloc.get_traced_memory()[1])

    def after(self, **_: Any) -> None:
        if self.active:
            tracemalloc.reset_peak()

    @contextmanager
    def installed(self) -> Iterator[None]:
        from botocore.handlers import BUILTIN_HANDLERS

        entries = [("before-call", self.before), ("after-call", self.after)]
        BUILTIN_HANDLERS.extend(entries)
        try:
            yield
        finally:
            for entry in entries:
                BUILTIN_HANDLERS.remove(entry)

    def measure(self, run: Callable[[], Any]) -> tuple[Any, float]:
        """Run `run` traced; its peak above the memory in use when it started, in KiB."""
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        self.peak, self.active = start, True
        try:
            value = run()
            self.peak = max(self.peak, tracemalloc.get_traced_memory()[1])
        finally:
            self.active = False
            tracemalloc.stop()
        return value, (self.peak - start) / 1024


@contextmanager
def fast_sqs_counts() -> Iterator[None]:
    """moto's SQS counts the queue's visible, delayed and in-flight messages on every send, asking a datetime-based
    clock (14 us) once per message: 500 sends into a queue of up to 500 took seconds per step, 100,000 reporters an
    hour. The same counts with the clock read once per count, while the storm runs: only moto (whose time is
    excluded from every number here) gets faster."""
    from moto.sqs.models import Queue

    def now() -> float:
        return time.time() * 1000.0

    def visible_now(q: Any) -> list[Any]:
        t = now()
        return [m for m in q._messages if t > m.visible_at and not t < m.delayed_until]

    replacements = {
        "messages": property(visible_now),
        "approximate_number_of_messages": property(lambda q: len(visible_now(q))),
        "approximate_number_of_messages_delayed": property(
            lambda q: sum(1 for t in (now(),) for m in q._messages if t < m.delayed_until)
        ),
        "approximate_number_of_messages_not_visible": property(
            lambda q: sum(1 for t in (now(),) for m in q._messages if not t > m.visible_at)
        ),
    }
    originals = {name: Queue.__dict__[name] for name in replacements}
    for name, value in replacements.items():
        setattr(Queue, name, value)
    try:
        yield
    finally:
        for name, value in originals.items():
            setattr(Queue, name, value)


def _moderator_event(template: str, case_id: str, body: Any = None) -> dict[str, Any]:
    event = http_event(template, body=body, path_params={"case_id": case_id})
    jwt = event["requestContext"]["authorizer"]["jwt"]
    jwt["claims"] = load_event(template)["requestContext"]["authorizer"]["jwt"]["claims"] | {"sub": "mod-storm"}
    return event


def _seed_case(driver: Driver, post_id: str, reporters: int, prefix: str) -> tuple[str, set[str]]:
    """A case in review with `reporters` reports: a few through the handlers, the rest stored copies."""
    from consent_guard.models import items as it
    from consent_guard.repository.base import _av

    driver.put_post(post_id)
    ids: list[str] = []
    reporter_ids: set[str] = set()
    case_id = ""
    for i in range(min(TEMPLATE_REPORTS, reporters)):
        reporter = f"{prefix}-{i}"
        r = driver.submit(reporter, report_body(post_id, "other", "contact_information"))
        case_id, report_id = str(r.body["case_id"]), str(r.body["report_id"])
        ids.append(report_id)
        reporter_ids.add(reporter)
    driver.run_pipeline()
    client = driver.session.client("dynamodb")
    table = driver.resources.tables["ConsentGuardTable"]
    from consent_guard.repository import CaseRepository

    repository = CaseRepository(table, client)
    templates = [repository.get_report(report_id, consistent=True) for report_id in ids]
    added: Counter[int] = Counter()
    batch: list[dict[str, Any]] = []
    for k in range(reporters - len(ids)):
        template = templates[k % len(templates)]
        reporter = f"{prefix}-{len(ids) + k}"
        report = template.model_copy(
            update={
                "report_id": f"{template.report_id}x{k}",
                "reporter_id": reporter,
                "submitted_at": template.submitted_at + timedelta(microseconds=k),
            }
        )
        item = it.report_to_item(report, None)
        added[int(str(item["LPK"]).rsplit("#", 1)[1])] += 1
        reporter_ids.add(reporter)
        batch.append({"PutRequest": {"Item": _av(item)}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})
    for shard, n in added.items():  # the exact counts, as each report's own transaction would have added them
        client.update_item(
            TableName=table,
            Key=_av(it.report_count_key(case_id, shard)),
            UpdateExpression="ADD reports :n SET #t = :t",
            ExpressionAttributeNames={"#t": "type"},
            ExpressionAttributeValues=_av({":n": n, ":t": "report_count"}),
        )
    return case_id, reporter_ids


def _decide(driver: Driver, case_id: str) -> float:
    view = driver.http("CaseApiFunction", _moderator_event("case_api/get_case.json", case_id))
    if view.status != 200:
        raise RuntimeError(f"GET /cases/{case_id} answered {view.status}: {view.body}")
    body = {"outcome": "remove", "rule_id": "PIM-12", "version": view.body["case"]["version"]}
    decided = driver.http("CaseApiFunction", _moderator_event("case_api/decide_case.json", case_id, body))
    if decided.status != 200:
        raise RuntimeError(f"the decision answered {decided.status}: {decided.body}")
    return decided.handler_cpu_seconds * 1000


def _template_timeout() -> float:
    from local.template import load_template

    template = load_template()
    default = template.get("Globals", {}).get("Function", {}).get("Timeout", 3)  # 3 s: Lambda's own default
    return float(template["Resources"][EFFECTS]["Properties"].get("Timeout", default))


def measure(
    recorder: Recorder,
    large: int = 100_000,
    small: int = 1_000,
    small_cases: int = 5,
    log: Callable[[str], None] = print,
) -> StormFanOut:
    from consent_guard.services.delivery import FAN_OUT_PAGE

    peak = PeakOutsideCalls()
    result = StormFanOut(large, small, small_cases, FAN_OUT_PAGE, _template_timeout())
    with peak.installed(), fast_sqs_counts():
        driver = Driver(recorder)
        with driver.running():
            driver.put_account("user-bob", contact_email="bob@example.com")
            started = time.perf_counter()
            large_case, large_reporters = _seed_case(driver, "storm-100k-post", large, "storm-reporter")
            result.reporters[large_case] = len(large_reporters)
            smalls: list[tuple[str, set[str]]] = []
            for n in range(small_cases):
                smalls.append(_seed_case(driver, f"storm-1k-post-{n}", small, f"storm-1k-{n}-reporter"))
                result.reporters[smalls[-1][0]] = small
            result.seed_s = time.perf_counter() - started
            log(f"  seeded {large:,} + {small_cases} x {small:,} reports in {result.seed_s:.0f} s")
            expected = {large_case: large_reporters} | dict(smalls)
            told: dict[str, Counter[str]] = {case: Counter() for case in expected}
            sqs = driver.session.client("sqs")
            template = sqs_template("EffectsQueue")
            effects_url = driver.resources.queues["EffectsQueue"]
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.sqs.models import sqs_backends

            notification_url = driver.resources.queues["NotificationQueue"]
            notifications = sqs_backends[DEFAULT_ACCOUNT_ID][driver.session.region_name].queues[
                notification_url.rsplit("/", 1)[1]
            ]
            recorder.reset()
            result.decide_ms[large_case] = _decide(driver, large_case)
            pending_small = list(smalls)
            every = max(1, (large // FAN_OUT_PAGE) // (small_cases + 1))
            steps = 0
            per_size: Counter[str] = Counter()
            started = time.perf_counter()
            while True:
                if pending_small and steps % every == every - 1:
                    case_id, _ = pending_small.pop(0)
                    result.decide_ms[case_id] = _decide(driver, case_id)
                messages = sqs.receive_message(QueueUrl=effects_url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
                    "Messages", []
                )
                if not messages:
                    if pending_small:
                        steps = every - 1  # the large fan-out finished first: decide the next small case now
                        continue
                    break
                for message in messages:  # one message per invocation: one step of one fan-out
                    event = sqs_event(template, driver.resources.queue_arns["EffectsQueue"], [message])
                    # timed and traced steps alternate within each size (not globally: a size's steps must get both)
                    outbox_id = str(json.loads(message["Body"]).get("outbox_id", ""))
                    size = "large" if large_case in outbox_id else "small"
                    traced = per_size[size] % 2 == 1
                    per_size[size] += 1
                    if traced:
                        invocation, kib = peak.measure(lambda e=event: driver.invoke(EFFECTS, e))  # type: ignore[misc]
                    else:
                        invocation, kib = driver.invoke(EFFECTS, event), None
                    if invocation.result.get("batchItemFailures"):
                        raise RuntimeError(f"the effects function failed a step: {invocation.result}")
                    sqs.delete_message(QueueUrl=effects_url, ReceiptHandle=message["ReceiptHandle"])
                    case, count = _drain_told(notifications, expected, told)
                    result.steps.append(
                        Step(
                            case="large" if case == large_case else "small" if case in expected else "none",
                            told=count,
                            handler_cpu_ms=None if traced else invocation.handler_cpu_seconds * 1000,
                            wall_ms=invocation.seconds * 1000,
                            peak_kib=kib,
                        )
                    )
                    steps += 1
                    if steps % 40 == 0:
                        done = sum(told[large_case].values())
                        log(f"  storm fan-out: {steps} steps, {done:,}/{large:,} reporters of the large case told")
            result.fan_out_s = time.perf_counter() - started
            recorder.reset()
    for case, counts in told.items():
        result.told_once[case] = sum(1 for r in expected[case] if counts[r] == 1)
        result.duplicates += sum(n - 1 for n in counts.values() if n > 1)
    return result


def _drain_told(queue: Any, expected: dict[str, set[str]], told: dict[str, Counter[str]]) -> tuple[str | None, int]:
    """Take what a step queued straight from moto's queue (the bench's check, not a consumer: receiving 100,000
    messages through the API would be most of the run) and count the reporters' outcome notifications."""
    case: str | None = None
    count = 0
    messages, queue._messages = list(queue._messages), []
    for m in messages:
        body = json.loads(m.body)
        case_id = body.get("case_id")
        if body.get("kind") == "outcome" and case_id in expected and body["recipient_id"] in expected[case_id]:
            told[case_id][body["recipient_id"]] += 1
            case, count = case_id, count + 1
    return case, count
