"""Unit tests of the bench's own arithmetic (no timing): `.venv/bin/pytest -q bench`."""

from __future__ import annotations

import io
import json
import math
from collections import Counter

import pytest

from bench.awscalls import Capacity, Index, TableShape, item_size, payload_chunks, read_capacity, write_capacity
from bench.coldstart import SPREAD_LIMIT, ColdStartResult, quartiles
from bench.cost import PRICES, model
from bench.report import Metric, closing_note, table
from bench.scenarios import FunctionUsage, PipelineRun, percentile

SHAPE = TableShape(
    keys=("PK", "SK"),
    indexes=(Index("ListIndex", ("LPK", "LSK"), "ALL"), Index("DueIndex", ("DPK", "DSK"), "KEYS_ONLY")),
)


def s(value: str) -> dict[str, str]:
    return {"S": value}


def test_item_size_follows_dynamodbs_rules() -> None:
    assert item_size({"name": s("abc")}) == 4 + 3
    assert item_size({"n": {"N": "123"}}) == 1 + 3
    assert item_size({"n": {"N": "-0.0100"}}) == 1 + 2  # sign, leading and trailing zeros do not count
    assert item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    assert item_size({"l": {"L": [s("ab"), s("c")]}}) == 1 + 3 + (2 + 1) + (1 + 1)
    assert item_size({"m": {"M": {"k": s("v")}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size(None) == 0


def test_a_small_standard_write_is_one_unit_and_a_transactional_one_two() -> None:
    item = {"PK": s("A"), "SK": s("B")}
    assert write_capacity(SHAPE, None, item, tx=False) == Capacity(write_units=1)
    assert write_capacity(SHAPE, None, item, tx=True) == Capacity(write_units=2)


def test_writes_round_up_per_kilobyte_of_the_larger_image() -> None:
    big = {"PK": s("A"), "SK": s("B"), "blob": s("x" * 2500)}
    small = {"PK": s("A"), "SK": s("B")}
    assert write_capacity(SHAPE, big, small, tx=True).write_units == 3 * 2


def test_index_writes_follow_the_index_keys_and_projection() -> None:
    base = {"PK": s("A"), "SK": s("B")}
    listed = base | {"LPK": s("L"), "LSK": s("1")}
    assert write_capacity(SHAPE, None, listed, tx=False).index_write_units == 1  # put into ListIndex
    moved = listed | {"LSK": s("2")}
    assert write_capacity(SHAPE, listed, moved, tx=False).index_write_units == 2  # key change: delete + put
    timer = base | {"DPK": s("D"), "DSK": s("1"), "status": s("received")}
    changed = timer | {"status": s("evaluated")}
    # KEYS_ONLY: a change outside the keys does not touch the index
    assert write_capacity(SHAPE, timer, changed, tx=False).index_write_units == 0
    assert write_capacity(SHAPE, timer, base, tx=False).index_write_units == 1  # timer removed: delete


def test_unchanged_condition_check_costs_a_transactional_write() -> None:
    item = {"PK": s("A"), "SK": s("B")}
    assert write_capacity(SHAPE, item, item, tx=True) == Capacity(write_units=2)
    assert write_capacity(SHAPE, None, None, tx=True) == Capacity(write_units=2)


def test_reads_round_up_per_4_kilobytes_and_eventual_consistency_halves_them() -> None:
    assert read_capacity(5000, consistent=True) == 2
    assert read_capacity(1000, consistent=False) == 0.5
    assert read_capacity(0, consistent=True) == 1  # a miss still costs the minimum


def test_messaging_is_billed_per_64_kilobyte_chunk_and_email_per_recipient() -> None:
    assert payload_chunks({"MessageBody": "x" * 70_000}, "sqs.SendMessage") == 2
    assert payload_chunks({"Entries": [{"MessageBody": "a"}] * 10}, "sqs.SendMessageBatch") == 1
    assert payload_chunks({"Entries": [{"Detail": "{}"}, {"Detail": "{}"}]}, "events.PutEvents") == 2
    assert payload_chunks({"Destination": {"ToAddresses": ["a@b.c", "d@e.f"]}}, "sesv2.SendEmail") == 2


def test_percentile_interpolates() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([3.0], 99) == 3.0


def _usage(invocations: int, calls: dict[str, int], units: dict[str, int], wru: float, rru: float) -> FunctionUsage:
    u = FunctionUsage(calls=Counter(calls), units=Counter(units), invocations=invocations, cpu_ms=1.0)
    u.capacity = Capacity(write_units=wru, read_units=rru)
    u.guarantee_capacity = Capacity(write_units=wru)
    return u


def test_cost_model_prices_each_measured_unit() -> None:
    run = PipelineRun(
        usage={
            "ReportIntakeFunction": _usage(
                1, {"dynamodb.TransactWriteItems": 1, "sqs.SendMessage": 1}, {"sqs.SendMessage": 1}, 4, 0
            ),
            "PolicyEvaluationFunction": _usage(1, {"events.PutEvents": 1}, {"events.PutEvents": 2}, 0, 2),
        },
        case_id="c",
    )
    priced = model(run, {"ReportIntakeFunction": 256, "PolicyEvaluationFunction": 256})
    lines = {(line.service, line.item): line.usd_per_million for line in priced.lines}
    assert lines[("API Gateway", "HTTP API requests")] == pytest.approx(PRICES["http_api_request"].usd * 1e6)
    assert lines[("Lambda", "requests")] == pytest.approx(2 * 0.20)
    assert lines[("DynamoDB", "writes, table (transactions count 2x)")] == pytest.approx(4 * 0.705)
    assert lines[("DynamoDB", "reads")] == pytest.approx(2 * 0.1415)
    # one send, and the evaluation function's batch: a receive and a delete by its event source mapping
    assert lines[("SQS", "sends + event-source receive/delete")] == pytest.approx(3 * 0.40)
    assert lines[("EventBridge", "enforcement events")] == pytest.approx(2 * 1.00)
    assert priced.floor <= priced.total


def test_results_json_has_the_issue_schema_and_no_nan() -> None:
    metrics = [
        Metric("aws_calls.intake", 2, "calls", None, None, "<= 2", True),
        Metric("storm.latency_ratio", float("nan"), "", None, None, "not measured", False, why="boom"),
    ]
    for m in metrics:
        data = m.as_json()
        assert set(data) == {"name", "value", "unit", "baseline", "ratio", "goal", "met"}
        json.dumps(data, allow_nan=False)
    out = io.StringIO()
    table(metrics, out)
    closing_note(metrics, out)
    assert "not measured - boom" in out.getvalue()
    assert not math.isnan(metrics[0].value)


def _cold(ratios_and_cpu: list[tuple[float, float]]) -> ColdStartResult:
    """A result whose one function ran at the given (function ms, baseline ms) per round."""
    from bench.coldstart import Sample

    def sample(cpu: float) -> Sample:
        return Sample(cpu, cpu, cpu, cpu, 50.0, 0, [], [])

    result = ColdStartResult(rounds=len(ratios_and_cpu), memory_mb={"F": 256}, functions={"F": "f"})
    result.samples["F"] = [sample(f) for f, _ in ratios_and_cpu]
    result.baselines["F"] = [sample(b) for _, b in ratios_and_cpu]
    return result


def test_cold_start_is_judged_on_the_median_of_paired_ratios() -> None:
    # the baseline moves with the load and the function with it: the paired ratio stays 1.4, the medians' ratio not
    rounds = [(140.0 * k, 100.0 * k) for k in (1, 3, 1, 2, 5, 1, 4, 2, 1, 3, 2)]
    paired = _cold(rounds).paired("F")
    assert paired.median == pytest.approx(1.4)
    assert paired.iqr == pytest.approx((1.4, 1.4))
    assert paired.judgeable


def test_a_wide_spread_cannot_be_judged() -> None:
    rounds = [(f, 100.0) for f in (100.0, 150.0, 200.0, 120.0, 180.0, 140.0, 160.0)]
    paired = _cold(rounds).paired("F")
    low, high = quartiles([r[0] / 100 for r in rounds])
    assert paired.iqr == (low, high)
    assert paired.spread > SPREAD_LIMIT
    assert not paired.judgeable


def test_the_storm_compares_full_pages_only_and_needs_everyone_told_once() -> None:
    from bench.storm_fanout import Step, StormFanOut

    run = StormFanOut(large=2000, small=1000, small_cases=1, page=500, timeout_s=60)
    run.steps = [
        Step("large", 500, 10.0, 100.0, None),
        Step("large", 500, None, 100.0, 200.0),
        Step("large", 499, 1.0, 100.0, 900.0),  # a partial page is not compared
        Step("small", 500, 8.0, 100.0, None),
        Step("small", 500, None, 100.0, 160.0),
        Step("none", 0, 0.5, 40_000.0, 1.0),
    ]
    assert run.time_ratio == pytest.approx(10.0 / 8.0)
    assert run.memory_ratio == pytest.approx(200.0 / 160.0)
    assert run.max_wall_ms == 40_000.0
    run.reporters = {"big": 2000, "little": 1000}
    run.told_once = {"big": 2000, "little": 999}
    assert not run.everyone_told_once
    run.told_once["little"] = 1000
    assert run.everyone_told_once
    run.duplicates = 1
    assert not run.everyone_told_once


def test_the_physical_floor_prices_each_guarantee_write_at_its_minimum() -> None:
    from bench.awscalls import Call
    from bench.scenarios import _floor_units

    def call(operation: str, params: dict[str, object]) -> Call:
        return Call("f", operation, 0.0, params, {}, None)

    listed = {"PK": s("R"), "SK": s("R"), "LPK": s("L"), "LSK": s("1"), "blob": s("x" * 5000)}
    tx = call(
        "dynamodb.TransactWriteItems",
        {"TransactItems": [{"Put": {"Item": listed}}, {"ConditionCheck": {"Key": {"PK": s("A"), "SK": s("B")}}}]},
    )
    assert _floor_units(tx) == (2 + 1) + 2  # 1 KB whatever the stored size; the listed item's keys-only copy
    assert _floor_units(call("dynamodb.PutItem", {"Item": listed, "ConditionExpression": "x"})) == 2
    assert _floor_units(call("dynamodb.PutItem", {"Item": listed})) == 0  # not a guarantee
    assert _floor_units(call("dynamodb.DeleteItem", {"Key": {}, "ConditionExpression": "x"})) == 1
