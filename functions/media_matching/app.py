"""Media matching: POST /media/matches over HTTP, and posts with media signals from the matching queue.

The only function that imports numpy (the PDQ index): it is in this function's requirements, not in the layer.
"""

from consent_guard.consumers.matching import handle_matching_batch
from consent_guard.http.matching_api import app
from consent_guard.observability import LambdaContext, correlation_paths, logger, metrics

__all__ = ["app", "lambda_handler"]


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:  # type: ignore[type-arg]
    if "Records" in event:
        return dict(handle_matching_batch(event))
    return app.resolve(event, context)
