"""Bank index: rebuilds the PDQ index snapshot in S3 on a schedule, from BankIndex (no Scan, no numpy)."""

from consent_guard.consumers.bank_index import run_index_build
from consent_guard.observability import LambdaContext, logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:  # type: ignore[type-arg]
    return run_index_build(event, context)
