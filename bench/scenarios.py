"""The in-process benchmarks on moto: AWS calls per report, handler overhead, report storm, re-review scaling,
and the workload of real CaseFacts the policy benchmark replays."""

from __future__ import annotations

import os
import stat
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.awscalls import Call, Capacity, Recorder, item_size, payload_chunks
from bench.driver import Driver, Invocation, http_event, report_body

INTAKE = "ReportIntakeFunction"
EVALUATION = "PolicyEvaluationFunction"
NOTIFICATION = "NotificationFunction"
REVIEW = "ScheduledReviewFunction"


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), as numpy's default."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _stdout_bytes() -> int | None:
    """Bytes written to stdout so far, when stdout is a file (the bench points it at one): the functions' logs."""
    sys.stdout.flush()
    st = os.fstat(1)
    return st.st_size if stat.S_ISREG(st.st_mode) else None


# ---------------------------------------------------------------- 2 + 8: one report through the pipeline


@dataclass
class FunctionUsage:
    """What one function did for one report: calls, capacity, billable units, time and log bytes."""

    calls: Counter[str] = field(default_factory=Counter)
    capacity: Capacity = field(default_factory=Capacity)
    guarantee_capacity: Capacity = field(default_factory=Capacity)  # transactions and conditional writes
    units: Counter[str] = field(default_factory=Counter)  # sqs requests, events, emails
    floor_write_units: float = 0.0  # the same atomic/conditional writes at their minimum: 1 KB items, keys-only indexes
    invocations: int = 0
    cpu_ms: float = 0.0  # own process time (minus the time inside AWS calls), summed over invocations
    aws_ms: float = 0.0
    log_bytes: int = 0


@dataclass
class PipelineRun:
    usage: dict[str, FunctionUsage]
    case_id: str
    case_item_bytes: int = 0  # the case's status item as stored after the run (DynamoDB's item size)
    stored_bytes: int = 0  # what the report left in the table: items + index copies, 100 B overhead each
    metric_series: int = 0  # distinct custom metrics (name and dimensions) the functions emitted

    def calls(self, function: str | None = None) -> int:
        return sum(sum(u.calls.values()) for f, u in self.usage.items() if function in (None, f))


def _is_guarantee_write(call: Call) -> bool:
    """Writes that carry a guarantee: atomic transactions and conditional puts (exactly once, never lost)."""
    return call.operation == "dynamodb.TransactWriteItems" or (
        call.operation == "dynamodb.PutItem" and "ConditionExpression" in call.params
    )


def _floor_units(call: Call) -> float:
    """A guarantee write at its physical minimum: each item of a transaction 2 units, a conditional write 1, and
    one more for each index the item is listed in (keys only)."""

    def listed(item: dict[str, Any] | None) -> int:
        return sum(1 for key in ("LPK", "DPK") if item and key in item)

    if call.operation == "dynamodb.TransactWriteItems":
        actions = [op for action in call.params["TransactItems"] for op in action.values()]
        return sum(2 + listed(op.get("Item")) for op in actions)
    if _is_guarantee_write(call):
        return 1 + listed(call.params.get("Item"))
    if call.operation in ("dynamodb.UpdateItem", "dynamodb.DeleteItem") and "ConditionExpression" in call.params:
        return 1
    return 0.0


def stored_bytes(driver: Driver) -> int:
    """The table's billed storage: each item's size + 100 bytes, and the same for each index copy (ListIndex
    projects the whole item, DueIndex the keys)."""
    client = driver.session.client("dynamodb")
    total, start = 0, None
    while True:
        kwargs: dict[str, Any] = {"TableName": driver.resources.tables["ConsentGuardTable"]}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = client.scan(**kwargs)
        for item in page["Items"]:
            size = item_size(item) + 100
            total += size
            if "LPK" in item:
                total += size
            if "DPK" in item:
                total += item_size({k: item[k] for k in ("PK", "SK", "DPK", "DSK") if k in item}) + 100
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


@contextmanager
def metric_series() -> Iterator[set[tuple[str, ...]]]:
    """The distinct custom metrics the functions emit (each name and dimension set is one CloudWatch metric)."""
    from consent_guard.observability import metrics

    seen: set[tuple[str, ...]] = set()
    original = metrics.add_metric

    def recording(name: str, *args: Any, **kwargs: Any) -> Any:
        dimensions = getattr(getattr(metrics, "provider", metrics), "dimension_set", {}) or {}
        seen.add((name, *sorted(dimensions)))
        return original(name, *args, **kwargs)

    metrics.add_metric = recording  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        metrics.add_metric = original  # type: ignore[method-assign]


def _metered(driver: Driver, recorder: Recorder, action: Callable[[], Any]) -> dict[str, FunctionUsage]:
    """Run `action` (which invokes handlers through the driver) and account for every invocation and call."""
    recorder.reset()
    recorder.keep_calls = True
    recorder.meter = driver.capacity_meter()
    usage: dict[str, FunctionUsage] = defaultdict(FunctionUsage)
    original_invoke = driver.invoke

    def metered(function: str, event: dict[str, Any]) -> Invocation:
        before = _stdout_bytes()
        invocation = original_invoke(function, event)
        after = _stdout_bytes()
        u = usage[function]
        u.invocations += 1
        u.cpu_ms += invocation.handler_cpu_seconds * 1000
        u.aws_ms += invocation.aws_seconds * 1000
        if before is not None and after is not None:
            u.log_bytes += after - before
        return invocation

    driver.invoke = metered  # type: ignore[method-assign]
    try:
        action()
    finally:
        driver.invoke = original_invoke  # type: ignore[method-assign]
        recorder.keep_calls = False
        recorder.meter = None
    for call in recorder.calls:
        u = usage[call.label]
        u.calls[call.operation] += 1
        u.floor_write_units += _floor_units(call)
        if call.capacity is not None:
            u.capacity.add(call.capacity)
            if _is_guarantee_write(call):
                u.guarantee_capacity.add(call.capacity)
        if not call.operation.startswith("dynamodb."):
            u.units[call.operation] += payload_chunks(call.params, call.operation)
    recorder.reset()
    return dict(usage)


def one_report(recorder: Recorder) -> tuple[PipelineRun, PipelineRun]:
    """A first-person report of a post with context, whose author has an email address: intake, evaluation
    (removal, enforcement), notifications (receipt and outcome to the reporter, statement of reasons to the
    author, who is emailed). Then a further report of the same post by someone else, which the decided case
    folds in. Both measured warm: the same flow runs once before, on another post."""
    driver = Driver(recorder)
    with driver.running():
        driver.put_post("post-warm")
        driver.put_account("user-bob", contact_email="bob@example.com")
        driver.submit("user-warm", report_body("post-warm"))
        driver.run_pipeline()
        driver.submit("user-warm-2", report_body("post-warm"))
        driver.run_pipeline()
        driver.put_post("post-1")
        accepted: list[Any] = []

        def report(reporter: str) -> Callable[[], None]:
            def act() -> None:
                accepted.append(driver.submit(reporter, report_body("post-1")))
                driver.run_pipeline()

            return act

        before = stored_bytes(driver)
        with metric_series() as series:
            first = _metered(driver, recorder, report("user-alice"))
        stored = stored_bytes(driver) - before
        further = _metered(driver, recorder, report("user-carol"))
        case_id = str(accepted[0].body["case_id"])
        case_item = driver.session.client("dynamodb").get_item(
            TableName=driver.resources.tables["ConsentGuardTable"],
            Key={"PK": {"S": f"CASE#{case_id}"}, "SK": {"S": "STATUS"}},
        )
        size = item_size(case_item.get("Item"))
    return (
        PipelineRun(first, case_id, size, stored, len(series)),
        PipelineRun(further, case_id, size, stored, len(series)),
    )


# ---------------------------------------------------------------- 3: handler overhead of POST /reports


@dataclass
class Overhead:
    overhead_ms: list[float]  # the handler's own process time per request (minus the time inside AWS calls)
    bare_overhead_ms: list[float]  # the same for the bare-SDK baseline handler
    wall_overhead_ms: list[float]  # the handler's own wall time (wall minus the time inside AWS calls)
    bare_wall_overhead_ms: list[float]
    latency_ms: list[float]  # wall, AWS calls (moto) included
    aws_calls_per_request: float


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")


def handler_overhead(recorder: Recorder, requests: int = 1000, warm_up: int = 50) -> Overhead:
    """Warm POST /reports (new reports, with an Idempotency-Key), interleaved request by request with the
    baseline: a bare handler that parses the body with json and makes the same AWS calls as the product (its
    own recorded requests, replayed with fresh keys) straight through boto3 - no framework, validation, logging
    or metrics. Both are measured the same way, so machine noise hits both alike."""
    import copy
    import json

    driver = Driver(recorder)
    overhead: list[float] = []
    latency: list[float] = []
    bare_overhead: list[float] = []
    wall: list[float] = []
    bare_wall: list[float] = []
    with driver.running():
        recorder.keep_calls = True
        driver.submit("template-reporter", report_body("template-post"), idempotency_key="template-key")
        recorder.keep_calls = False
        template = [(c.operation, c.params) for c in recorder.calls]
        recorder.reset()
        clients = {"dynamodb": driver.session.client("dynamodb"), "sqs": driver.session.client("sqs")}
        methods = [(clients[op.split(".")[0]], _snake(op.split(".")[1])) for op, _ in template]

        def fresh(params: dict[str, Any], i: int) -> dict[str, Any]:
            """The recorded request with every key made unique (markers, quota counters, standing checks)."""
            out = copy.deepcopy(params)
            for op in [*(a for action in out.get("TransactItems", []) for a in action.values()), out]:
                for field_name in ("Item", "Key"):
                    if field_name in op and "PK" in op[field_name]:
                        op[field_name]["PK"] = {"S": f"{op[field_name]['PK']['S']}-bare-{i}"}
            return out

        def bare(event: dict[str, Any], calls: list[dict[str, Any]]) -> dict[str, Any]:
            body = json.loads(event["body"])
            for (client, method), params in zip(methods, calls, strict=True):
                getattr(client, method)(**params)
            return {"statusCode": 202, "body": json.dumps({"post_id": body["post_id"], "status": "received"})}

        for i in range(warm_up + requests):
            response = driver.submit(f"reporter-{i}", report_body(f"post-{i}"), idempotency_key=f"key-{i}")
            event = http_event("report_intake/submit_report.json", body=report_body(f"bare-post-{i}"), sub=f"bare-{i}")
            calls = [fresh(params, i) for _, params in template]
            recorder.take()
            with recorder.labelled("baseline"):
                cpu_started = time.process_time()
                started = time.perf_counter()
                bare(event, calls)
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
            aws, aws_cpu, _ = recorder.take()
            if i >= warm_up:
                latency.append(response.seconds * 1000)
                overhead.append(response.handler_cpu_seconds * 1000)
                wall.append(response.handler_seconds * 1000)
                bare_overhead.append((cpu - aws_cpu) * 1000)
                bare_wall.append((seconds - aws) * 1000)
            if i % 10 == 9:  # moto's SQS slows down with queue length: keep it short
                driver.purge("EvaluationQueue")
        product_calls = sum(n for (label, _), n in recorder.counts.items() if label != "baseline")
        recorder.reset()
    return Overhead(overhead, bare_overhead, wall, bare_wall, latency, product_calls / (warm_up + requests))


# ---------------------------------------------------------------- 4: report storm


@dataclass
class Storm:
    reports: int
    case_item_writes: int
    case_partition_writes: int
    case_version: int | None
    storm_latency_ms: list[float]  # process time of each POST /reports, moto's work included
    spread_latency_ms: list[float]
    storm_overhead_ms: list[float]  # the handler's own process time
    spread_overhead_ms: list[float]
    storm_wall_ms: list[float]
    spread_wall_ms: list[float]

    @property
    def latency_ratio(self) -> float:
        return statistics.median(self.storm_latency_ms) / statistics.median(self.spread_latency_ms)

    @property
    def overhead_ratio(self) -> float:
        return statistics.median(self.storm_overhead_ms) / statistics.median(self.spread_overhead_ms)


def _writes_to(calls_params: list[tuple[str, dict[str, Any]]], pk: str, sk: str | None) -> int:
    """Writes (of any operation) whose key is in partition `pk` (and, with `sk`, that exact item)."""

    def hits(key: dict[str, Any]) -> bool:
        return key.get("PK", {}).get("S") == pk and (sk is None or key.get("SK", {}).get("S") == sk)

    n = 0
    for operation, params in calls_params:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            n += hits(params.get("Item") or params.get("Key") or {})
        elif operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                (kind, op), *_ = action.items()
                if kind != "ConditionCheck":
                    n += hits(op.get("Item") or op.get("Key") or {})
        elif operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for r in requests:
                    n += hits(
                        (r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key") or {}
                    )
    return n


@contextmanager
def watching_writes(recorder: Recorder) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The (operation, params) of every DynamoDB write made while active, without keeping responses."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def hook(params: dict[str, Any], model: Any, **_: Any) -> None:
        writes = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
        if recorder.label is not None and model.service_model.service_name == "dynamodb" and model.name in writes:
            seen.append((model.name, params))

    from botocore.handlers import BUILTIN_HANDLERS

    entry = ("before-parameter-build", hook)
    BUILTIN_HANDLERS.append(entry)
    try:
        yield seen
    finally:
        BUILTIN_HANDLERS.remove(entry)


def storm(recorder: Recorder, reports: int = 2000, log: Callable[[str], None] = print) -> Storm:
    # one post, `reports` reporters; evaluation runs as the reports arrive, in batches of 10 as SQS would deliver
    driver = Driver(recorder)
    with watching_writes(recorder) as writes, driver.running():
        driver.put_post("storm-post")
        driver.put_account("user-bob", contact_email="bob@example.com")
        storm_latency, storm_overhead, storm_wall = [], [], []
        case_id = ""
        for i in range(reports):
            r = driver.submit(f"storm-reporter-{i}", report_body("storm-post"))
            case_id = str(r.body["case_id"])
            storm_latency.append(r.cpu_seconds * 1000)
            storm_overhead.append(r.handler_cpu_seconds * 1000)
            storm_wall.append(r.seconds * 1000)
            if i % 10 == 9:
                driver.deliver("EvaluationQueue")
                driver.purge("NotificationQueue")  # receipts and outcomes: not delivered, kept short
            if i % 500 == 499:
                log(f"  storm: {i + 1}/{reports} reports on one post")
        driver.deliver("EvaluationQueue")
        case_item = driver.table().get_item(Key={"PK": f"CASE#{case_id}", "SK": "STATUS"}).get("Item") or {}
        version = int(case_item["version"]) if "version" in case_item else None
        item_writes = _writes_to(writes, f"CASE#{case_id}", "STATUS")
        partition_writes = _writes_to(writes, f"CASE#{case_id}", None)
    # the same number of reports, each on its own post (intake only: its latency is what is compared)
    driver = Driver(recorder)
    with driver.running():
        spread_latency, spread_overhead, spread_wall = [], [], []
        for i in range(reports):
            r = driver.submit(f"spread-reporter-{i}", report_body(f"spread-post-{i}"))
            spread_latency.append(r.cpu_seconds * 1000)
            spread_overhead.append(r.handler_cpu_seconds * 1000)
            spread_wall.append(r.seconds * 1000)
            if i % 10 == 9:  # the queue stays as short as in the storm, where evaluation drains it
                driver.purge("EvaluationQueue")
            if i % 500 == 499:
                log(f"  storm: {i + 1}/{reports} reports on separate posts")
    recorder.reset()
    return Storm(
        reports=reports,
        case_item_writes=item_writes,
        case_partition_writes=partition_writes,
        case_version=version,
        storm_latency_ms=storm_latency,
        spread_latency_ms=spread_latency,
        storm_overhead_ms=storm_overhead,
        spread_overhead_ms=spread_overhead,
        storm_wall_ms=storm_wall,
        spread_wall_ms=spread_wall,
    )


# ---------------------------------------------------------------- 5: re-review scaling


@dataclass
class ReviewRun:
    pending: int
    due: int
    acted: int
    items_read: int
    calls: int
    wall_ms: float
    handler_ms: float  # wall minus the time inside AWS calls
    handler_cpu_ms: float  # the same in process time: what other processes on the machine do not change


def _items_read(calls: list[Call]) -> int:
    n = 0
    for c in calls:
        if c.operation in ("dynamodb.Query", "dynamodb.Scan"):
            n += int(c.response.get("ScannedCount", c.response.get("Count", 0)))
        elif c.operation == "dynamodb.GetItem":
            n += "Item" in c.response
        elif c.operation == "dynamodb.BatchGetItem":
            n += sum(len(v) for v in c.response.get("Responses", {}).values())
    return n


def _letters(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[r] + out
        if not n:
            return out


def _clone_reports(driver: Driver, report_ids: list[str], count: int) -> None:
    """`count` more report items like the given ones, byte for byte as the product stored them except the report
    id (keys, index keys and timer included), written with BatchWriteItem: seeding 10,000 through the handler
    would take minutes on moto."""
    client = driver.session.client("dynamodb")
    table = driver.resources.tables["ConsentGuardTable"]
    templates = []
    for report_id in report_ids:
        items = client.query(
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"REPORT#{report_id}"}},
        )["Items"]
        templates += [(report_id, item) for item in items]
    if not templates:
        raise RuntimeError("the submitted reports were not found under PK REPORT#<report_id>")
    batch: list[dict[str, Any]] = []
    for k in range(count):
        report_id, item = templates[k % len(templates)]
        new_id = f"{report_id}{_letters(k)}"
        clone = {
            name: {"S": value["S"].replace(report_id, new_id)} if "S" in value else value
            for name, value in item.items()
        }
        batch.append({"PutRequest": {"Item": clone}})
        if len(batch) == 25 or k == count - 1:
            client.batch_write_item(RequestItems={table: batch})
            batch = []


def rereview(recorder: Recorder, pending: int, due: int = 100, templates: int = 16) -> ReviewRun:
    """`pending` reports waiting for evaluation, each with its stuck-work timer in the DueIndex; `due` of them were
    submitted long enough ago for the timer to be due, the rest are not due yet. A few of each are submitted
    through the handler (the due ones an hour in the past); the rest are copies of their stored items."""
    import time_machine

    driver = Driver(recorder)
    with driver.running():
        driver.scheduled_review()  # warm: the measured run is not the process's first (clients, settings)
        due_ids, later_ids = [], []
        with time_machine.travel(datetime.now(UTC) - timedelta(hours=1), tick=True):
            for i in range(min(due, templates)):
                due_ids.append(str(driver.submit(f"due-reporter-{i}", report_body(f"due-post-{i}")).body["report_id"]))
        for i in range(min(pending - due, templates)):
            later_ids.append(
                str(driver.submit(f"later-reporter-{i}", report_body(f"later-post-{i}")).body["report_id"])
            )
        driver.purge("EvaluationQueue")  # they stay unevaluated: pending, with their timers
        _clone_reports(driver, due_ids, due - len(due_ids))
        _clone_reports(driver, later_ids, pending - due - len(later_ids))
        recorder.reset()
        recorder.keep_calls = True
        try:
            run = driver.scheduled_review()
        finally:
            recorder.keep_calls = False
        read = _items_read(recorder.calls)
        calls = len(recorder.calls)
        recorder.reset()
    summary = run.result if isinstance(run.result, dict) else {}
    acted = sum(int(v) for v in (summary.get("acted") or {}).values())
    return ReviewRun(
        pending=pending,
        due=due,
        acted=acted,
        items_read=read,
        calls=calls,
        wall_ms=run.seconds * 1000,
        handler_ms=run.handler_seconds * 1000,
        handler_cpu_ms=run.handler_cpu_seconds * 1000,
    )


# ---------------------------------------------------------------- 6: the policy engine's workload


def policy_workload(recorder: Recorder) -> tuple[list[Any], list[str]]:
    """Real CaseFacts, as the evaluation service builds them, for a varied set of cases: relationships,
    categories, public figures, public-interest and crisis signals, media publicly available, repeat offenders."""
    import importlib

    engine = importlib.import_module("consent_guard.policy.engine")
    original = engine.evaluate_case
    captured: list[Any] = []

    def capturing(facts: Any, *args: Any, **kwargs: Any) -> Any:
        captured.append(facts)
        return original(facts, *args, **kwargs)

    patched = [m for m in list(sys.modules.values()) if m is not None and getattr(m, "evaluate_case", None) is original]
    for module in patched:
        setattr(module, "evaluate_case", capturing)  # noqa: B010 - a module attribute, found at run time
    categories = [
        "private_media",
        "intimate_media",
        "home_address_or_location",
        "identity_document",
        "contact_information",
        "financial_information",
        "medical_or_biometric",
        "threat_to_expose",
    ]
    signal_sets: list[dict[str, bool]] = [
        {},
        {"public_interest": True},
        {"crisis": True},
        {"eyewitness": True},
        {"public_interest": True, "public_event": True},
        {"harassment": True},
    ]
    driver = Driver(recorder)
    failures: list[str] = []
    try:
        with driver.running():
            n = 0
            for relationship in ("self", "other", "authorized_representative"):
                for c, category in enumerate(categories):
                    signals = signal_sets[(n + c) % len(signal_sets)]
                    author = "repeat-author" if n % 3 == 0 else f"author-{n}"
                    post = f"policy-post-{n}"
                    driver.put_post(post, author=author, **signals)
                    reporter = f"policy-reporter-{n}"
                    if n % 4 == 1:  # the person concerned is a public figure
                        driver.put_account(reporter, public_figure=True)
                    try:
                        driver.submit(reporter, report_body(post, relationship, category))
                    except RuntimeError as exc:
                        failures.append(f"{relationship}/{category}: {exc}")  # e.g. a category the API dropped
                        continue
                    n += 1
                try:
                    driver.run_pipeline()
                except RuntimeError as exc:  # the facts were captured before the failure; keep them, say so
                    failures.append(f"{relationship}: {exc}")
    finally:
        for module in patched:
            setattr(module, "evaluate_case", original)  # noqa: B010
    recorder.reset()
    return captured, failures


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started
