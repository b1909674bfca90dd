"""SQS batches with partial failure, without the weight of a framework (its import is Lambda cold start).

Each record is handled on its own: one that fails (a poison message, a downstream outage) is reported in
`batchItemFailures` and retried by SQS, then dead-lettered after maxReceiveCount; the rest of the batch is not held
back or repeated. The template sets `FunctionResponseTypes: [ReportBatchItemFailures]`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from consent_guard.observability import MetricUnit, logger, metrics


class ItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


def process_sqs_batch(event: Mapping[str, Any], handle: Callable[[str, str], None]) -> BatchResponse:
    """Call `handle(message_id, body)` for each record; report the ones that raised."""
    failures: list[ItemFailure] = []
    for record in event.get("Records") or []:
        message_id = str(record.get("messageId", ""))
        try:
            handle(message_id, str(record.get("body", "")))
        except Exception as exc:
            # ids and the error's type only: bodies and messages may carry data we must not log
            logger.warning(
                "message failed; SQS will retry it",
                message_id=message_id,
                error=type(exc).__name__,
                receive_count=(record.get("attributes") or {}).get("ApproximateReceiveCount"),
            )
            failures.append({"itemIdentifier": message_id})
    if failures:
        metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=len(failures))
    return {"batchItemFailures": failures}
