"""Statement submitter: sends the pending statements of reasons to the EU Transparency Database (DSA Art. 24(5))."""

from consent_guard.consumers.statements import run_statement_submitter
from consent_guard.observability import LambdaContext, logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:  # type: ignore[type-arg]
    return run_statement_submitter(event, context)
