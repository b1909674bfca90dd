"""Notification: delivers each notification request exactly once in effect, in-app and by email."""

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from consent_guard.consumers import handle_notification_record, notification_processor
from consent_guard.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:  # type: ignore[type-arg]
    return process_partial_response(
        event=event, record_handler=handle_notification_record, processor=notification_processor, context=context
    )
