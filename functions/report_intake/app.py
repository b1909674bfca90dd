"""Report intake: reports from people and context from the platform, over the HTTP API."""

from consent_guard.http.intake_api import app
from consent_guard.observability import LambdaContext, correlation_paths, logger, metrics

__all__ = ["app", "lambda_handler"]


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:  # type: ignore[type-arg]
    return app.resolve(event, context)
