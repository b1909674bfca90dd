"""Policy evaluation: reports and re-opened cases from the evaluation queue, one partial-failure batch at a time."""

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from consent_guard.consumers import evaluation_processor, handle_evaluation_record
from consent_guard.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:  # type: ignore[type-arg]
    return process_partial_response(
        event=event, record_handler=handle_evaluation_record, processor=evaluation_processor, context=context
    )
