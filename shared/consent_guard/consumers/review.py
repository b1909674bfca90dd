"""Behind ScheduledReviewFunction: one run of the scheduled re-review within the invocation's time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from functools import cache
from typing import Any

from consent_guard.config import review_settings
from consent_guard.messaging import QueuePublisher
from consent_guard.observability import LambdaContext, logger
from consent_guard.repository import CaseRepository
from consent_guard.services.review import ReReviewService


@cache
def review_service() -> ReReviewService:
    settings = review_settings()
    return ReReviewService(
        CaseRepository(settings.table_name),
        QueuePublisher(settings.evaluation_queue_url),
        QueuePublisher(settings.effects_queue_url),
    )


def run_scheduled_review(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("scheduled re-review started", event_id=event.get("id"), scheduled_time=event.get("time"))
    summary = review_service().run(context.get_remaining_time_in_millis)
    return asdict(summary)
