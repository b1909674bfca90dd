"""Cost per million reports on AWS: a model, not a bill.

Inputs are measured by the bench for one report through intake, evaluation and notification (warm functions):
the AWS calls, the capacity units they consume (item sizes, transactions, index writes), the billable units of
SQS, EventBridge and SES, the invocations per function, each function's own time, its MemorySize from
template.yaml, and the bytes each function logs. Prices are the list prices of eu-west-1 below; free tiers are
not applied. The assumptions the model needs on top of the measurements are in ASSUMPTIONS and printed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench.scenarios import FunctionUsage, PipelineRun

REGION = "eu-west-1"
PRICE_DATE = "2026-10-02"


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str


# eu-west-1 (Europe, Ireland), USD, first pricing tier. "Price List" = the AWS Price List API offer file
# https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<service>/current/eu-west-1/index.json, with its
# publication date, as read in snapshots taken 2026-10-02 and 2026-10-04.
PRICES: dict[str, Price] = {
    "lambda_request": Price(0.20e-6, "request", "Price List AWSLambda EU-Request-ARM, published 2026-10-01"),
    "lambda_gb_second_arm": Price(
        0.0000133334, "GB-second", "Price List AWSLambda EU-Lambda-GB-Second-ARM (first 7.5 bn GB-s), 2026-10-01"
    ),
    "http_api_request": Price(
        1.11e-6, "request", "Price List AmazonApiGateway EU-ApiGatewayHttpRequest (first 300 M), 2026-10-02"
    ),
    "dynamodb_write_unit": Price(
        0.705e-6, "write request unit", "Price List AmazonDynamoDB EU-WriteRequestUnits (on-demand), 2026-09-11"
    ),
    "dynamodb_read_unit": Price(
        0.1415e-6, "read request unit", "Price List AmazonDynamoDB EU-ReadRequestUnits (on-demand), 2026-09-11"
    ),
    "sqs_request": Price(
        0.40e-6, "request (64 KB)", "Price List AWSQueueService EU-Requests-Tier1 standard, 2026-09-11"
    ),
    "eventbridge_event": Price(
        1.00e-6, "custom event (64 KB)", "aws.amazon.com/eventbridge/pricing, custom events, all commercial Regions"
    ),
    "ses_email": Price(
        0.10e-3,
        "recipient",
        "SES a la carte outbound, Price List 2026-07-22 (accounts new since 2026-07-21 default to the Essentials "
        "plan, $0.16 per 1,000)",
    ),
    "logs_ingest_gb": Price(0.57, "GB ingested", "Price List AmazonCloudWatch EU-DataProcessing-Bytes, 2026-09-22"),
    # added for issue 12 from the services' pricing pages as last read (not re-read in this session: no network)
    "xray_trace": Price(5.00e-6, "trace recorded", "aws.amazon.com/xray/pricing, traces recorded, $5.00 per million"),
    "dynamodb_storage_gb_month": Price(
        0.283, "GB-month", "aws.amazon.com/dynamodb/pricing/on-demand, eu-west-1 Standard table class storage"
    ),
    "dynamodb_pitr_gb_month": Price(
        0.2266, "GB-month", "aws.amazon.com/dynamodb/pricing/on-demand, eu-west-1 continuous backups (PITR)"
    ),
    "cloudwatch_metric_month": Price(
        0.30, "metric-month", "aws.amazon.com/cloudwatch/pricing, custom metrics, first 10,000 metrics"
    ),
}

ASSUMPTIONS: dict[str, Any] = {
    # Lambda allocates CPU in proportion to memory: one vCPU at 1,769 MB (AWS Lambda developer guide). The bench
    # measures the handlers' own time on this machine's full core, so it is stretched by 1769 / MemorySize.
    "lambda_mb_per_vcpu": 1769,
    # Latency of one call inside the Region, added to each invocation's billed duration (typical single-digit
    # millisecond figures; the bench cannot measure AWS's latency on moto).
    "latency_ms": {
        "dynamodb.TransactWriteItems": 10.0,
        "dynamodb.BatchGetItem": 5.0,
        "dynamodb": 4.0,
        "sqs": 8.0,
        "events": 10.0,
        "sesv2": 30.0,
    },
    # SQS event source mappings poll with ReceiveMessage and delete with DeleteMessageBatch: two requests per
    # batch handed to a function (long-poll requests while queues are idle are a fixed monthly cost, not per report)
    "sqs_requests_per_batch": 2,
    # share of invocations that are cold starts; the Init phase is billed (since 2025-08-01) at the cold start's
    # duration measured by the bench, stretched like the handler time
    "cold_start_share": 0.01,
    # Lambda's own START, END and REPORT log lines per invocation
    "platform_log_bytes_per_invocation": 320,
    # Tracing: Active samples by X-Ray's default rule: the first request each second, then 5% (a trace per
    # sampled invocation: SQS-triggered invocations start their own traces). At a million reports a day the
    # reservoir is noise; the rate is what is paid.
    "xray_sampled_share": 0.05,
    # custom metrics are billed per metric-month whatever the volume: spread over this many reports a month
    "reports_per_month": 10_000_000,
    # storage is priced for one month retained (the bill grows with each month a report is kept)
    "months_retained": 1,
}


@dataclass
class Line:
    service: str
    item: str
    quantity: float  # per report, in the price's unit
    unit_price: float
    shown: str = ""  # the quantity as printed
    in_goal: bool = True  # email and logs are outside the goal

    @property
    def usd_per_million(self) -> float:
        return self.quantity * self.unit_price * 1_000_000


@dataclass
class CostModel:
    lines: list[Line] = field(default_factory=list)
    floor_lines: list[Line] = field(default_factory=list)
    per_function: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(line.usd_per_million for line in self.lines if line.in_goal)

    @property
    def floor(self) -> float:
        return sum(line.usd_per_million for line in self.floor_lines)

    def by_service(self, in_goal: bool = True) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            if line.in_goal == in_goal:
                out[line.service] = out.get(line.service, 0.0) + line.usd_per_million
        return out


def _latency(operation: str) -> float:
    table: dict[str, float] = ASSUMPTIONS["latency_ms"]
    return table.get(operation, table.get(operation.split(".", 1)[0], 5.0))


def _billed_ms(usage: FunctionUsage, memory_mb: int) -> float:
    """Billed duration of one invocation of this function: its own time stretched to Lambda's CPU share, plus
    the modelled latency of its AWS calls, rounded up to the millisecond."""
    if not usage.invocations:
        return 0.0
    stretch = max(1.0, ASSUMPTIONS["lambda_mb_per_vcpu"] / memory_mb)
    own = max(0.0, usage.cpu_ms) * stretch  # never below zero (the meter's wall time is subtracted from CPU time)
    waiting = sum(_latency(op) * n for op, n in usage.calls.items())
    return float(math.ceil((own + waiting) / usage.invocations))


def model(run: PipelineRun, memory_mb: dict[str, int], cold_ms: dict[str, float] | None = None) -> CostModel:
    p = PRICES
    cost = CostModel()
    usage = run.usage
    invocations = sum(u.invocations for u in usage.values())
    batches = sum(u.invocations for f, u in usage.items() if f != "ReportIntakeFunction")
    cost.lines.append(Line("API Gateway", "HTTP API requests", 1, p["http_api_request"].usd, "1 request"))
    cost.lines.append(Line("Lambda", "requests", invocations, p["lambda_request"].usd, f"{invocations} invocations"))
    stretch_cold = ASSUMPTIONS["cold_start_share"]
    gb_seconds = 0.0
    for function, u in usage.items():
        memory = memory_mb.get(function, 256)
        billed = _billed_ms(u, memory)
        init = 0.0
        if cold_ms and function in cold_ms:
            init = math.ceil(cold_ms[function] * max(1.0, ASSUMPTIONS["lambda_mb_per_vcpu"] / memory)) * stretch_cold
        function_gbs = u.invocations * (billed + init) / 1000 * memory / 1024
        gb_seconds += function_gbs
        cost.per_function[function] = {
            "invocations": u.invocations,
            "own_ms_measured": round(u.cpu_ms, 2),
            "billed_ms_per_invocation": billed,
            "memory_mb": memory,
            "gb_seconds": function_gbs,
            "write_units": u.capacity.total_write_units,
            "read_units": u.capacity.read_units,
            "log_bytes": u.log_bytes,
        }
    gbs_text = f"{gb_seconds:.3f} GB-s"
    cost.lines.append(
        Line("Lambda", "duration, arm64 (+1% cold Init)", gb_seconds, p["lambda_gb_second_arm"].usd, gbs_text)
    )
    write_units = sum(u.capacity.write_units for u in usage.values())
    index_units = sum(u.capacity.index_write_units for u in usage.values())
    read_units = sum(u.capacity.read_units for u in usage.values())
    wru, rru = p["dynamodb_write_unit"].usd, p["dynamodb_read_unit"].usd
    cost.lines.append(
        Line("DynamoDB", "writes, table (transactions count 2x)", write_units, wru, f"{write_units:g} WRU")
    )
    cost.lines.append(Line("DynamoDB", "writes, global secondary indexes", index_units, wru, f"{index_units:g} WRU"))
    cost.lines.append(Line("DynamoDB", "reads", read_units, rru, f"{read_units:g} RRU"))
    sends = sum(n for u in usage.values() for op, n in u.units.items() if op.startswith("sqs."))
    requests = sends + batches * ASSUMPTIONS["sqs_requests_per_batch"]
    sqs = p["sqs_request"].usd
    cost.lines.append(Line("SQS", "sends + event-source receive/delete", requests, sqs, f"{requests} requests"))
    events = sum(n for u in usage.values() for op, n in u.units.items() if op.startswith("events."))
    cost.lines.append(Line("EventBridge", "enforcement events", events, p["eventbridge_event"].usd, f"{events} events"))
    emails = sum(n for u in usage.values() for op, n in u.units.items() if op.startswith("sesv2."))
    cost.lines.append(Line("SES", "email", emails, p["ses_email"].usd, f"{emails} emails", in_goal=False))
    log_bytes = sum(u.log_bytes for u in usage.values())
    log_bytes += invocations * ASSUMPTIONS["platform_log_bytes_per_invocation"]
    logs = p["logs_ingest_gb"].usd
    cost.lines.append(
        Line("CloudWatch Logs", "ingestion", log_bytes / 1024**3, logs, f"{log_bytes / 1024:.1f} KB", False)
    )
    traces = invocations * ASSUMPTIONS["xray_sampled_share"]
    cost.lines.append(
        Line("X-Ray", "traces (default sampling rule)", traces, p["xray_trace"].usd, f"{traces:g} traces")
    )
    gb = run.stored_bytes / 1e9 * ASSUMPTIONS["months_retained"]
    stored_text = f"{run.stored_bytes / 1024:.1f} KB"
    storage, pitr = p["dynamodb_storage_gb_month"].usd, p["dynamodb_pitr_gb_month"].usd
    cost.lines.append(Line("DynamoDB", "storage, per month retained", gb, storage, stored_text))
    cost.lines.append(Line("DynamoDB", "PITR backup, per month retained", gb, pitr, stored_text))
    series_share = run.metric_series / ASSUMPTIONS["reports_per_month"]
    cost.lines.append(
        Line(
            "CloudWatch",
            f"custom metrics ({run.metric_series} series / {ASSUMPTIONS['reports_per_month']:,} reports a month)",
            series_share,
            p["cloudwatch_metric_month"].usd,
            f"{series_share:.1e} metric-months",
        )
    )
    # the physical floor: the minimum the guarantees need, computed from the run - one HTTP request, one
    # invocation per hop, the queue hops and events the effects need, and every atomic or conditional write the
    # run made at its minimum size (1 KB items: 2 units in a transaction, 1 conditional; keys-only index copies)
    floor_writes = sum(u.floor_write_units for u in usage.values())
    cost.floor_lines = [
        Line("API Gateway", "HTTP API requests", 1, p["http_api_request"].usd, "1 request"),
        Line("Lambda", "requests", invocations, p["lambda_request"].usd, f"{invocations} invocations"),
        Line("SQS", "requests", requests, p["sqs_request"].usd, f"{requests} requests"),
        Line("EventBridge", "enforcement events", events, p["eventbridge_event"].usd, f"{events} events"),
        Line(
            "DynamoDB", "the guarantees' writes at 1 KB, keys-only indexes", floor_writes, wru, f"{floor_writes:g} WRU"
        ),
    ]
    return cost
