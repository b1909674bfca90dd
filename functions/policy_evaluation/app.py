"""Policy evaluation: reports and re-opened cases from the evaluation queue, one partial-failure batch at a time."""

from consent_guard.consumers.evaluation import handle_evaluation_batch
from consent_guard.observability import LambdaContext, logger, metrics
from consent_guard.sqs_batch import BatchResponse


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> BatchResponse:  # type: ignore[type-arg]
    return handle_evaluation_batch(event, context.get_remaining_time_in_millis)
