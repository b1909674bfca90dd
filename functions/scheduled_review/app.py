"""Scheduled re-review: acts on every timer that is due, within the invocation's time budget; and the workers of
busy DueIndex shards, one shard per message of the shard queue."""

from collections.abc import Mapping
from typing import Any

from consent_guard.consumers.review import run_scheduled_review
from consent_guard.observability import LambdaContext, logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> Mapping[str, Any]:  # type: ignore[type-arg]
    return run_scheduled_review(event, context)
