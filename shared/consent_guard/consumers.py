"""Event-driven entry points behind the thin handlers: SQS batches with partial failure, and the schedule.

Records are typed: a message that does not parse is reported failed on its own (and reaches the DLQ after
maxReceiveCount) without holding back the rest of its batch.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from consent_guard.config import evaluation_settings, notification_settings, review_settings
from consent_guard.messaging import EmailSender, EnforcementPublisher, QueuePublisher
from consent_guard.models.messages import EvaluationMessage, NotificationRequest
from consent_guard.observability import logger
from consent_guard.repository import CaseRepository
from consent_guard.services.evaluation import EvaluationService
from consent_guard.services.notifications import NotificationService
from consent_guard.services.review import ReReviewService


class EvaluationRecord(SqsRecordModel):
    body: Json[EvaluationMessage]


class NotificationRecord(SqsRecordModel):
    body: Json[NotificationRequest]


# A batch that failed entirely is reported item by item rather than raised: same retry effect on AWS, and the
# invocation itself stays successful (no error metric for what is just a retry).
evaluation_processor = BatchProcessor(
    event_type=EventType.SQS, model=EvaluationRecord, raise_on_entire_batch_failure=False
)
notification_processor = BatchProcessor(
    event_type=EventType.SQS, model=NotificationRecord, raise_on_entire_batch_failure=False
)


@cache
def evaluation_service() -> EvaluationService:
    settings = evaluation_settings()
    return EvaluationService(
        CaseRepository(settings.table_name),
        QueuePublisher(settings.notification_queue_url),
        EnforcementPublisher(settings.event_bus_name),
    )


@cache
def notification_service() -> NotificationService:
    settings = notification_settings()
    return NotificationService(CaseRepository(settings.table_name), EmailSender(settings.sender_email))


@cache
def review_service() -> ReReviewService:
    settings = review_settings()
    return ReReviewService(
        CaseRepository(settings.table_name),
        QueuePublisher(settings.evaluation_queue_url),
        QueuePublisher(settings.notification_queue_url),
        EnforcementPublisher(settings.event_bus_name),
    )


def handle_evaluation_record(record: EvaluationRecord) -> None:
    logger.append_keys(message_id=record.messageId)
    evaluation_service().handle(record.body)


def handle_notification_record(record: NotificationRecord) -> None:
    logger.append_keys(message_id=record.messageId, notification_id=record.body.notification_id)
    notification_service().deliver(record.body)


def run_scheduled_review(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("scheduled re-review started", event_id=event.get("id"), scheduled_time=event.get("time"))
    summary = review_service().run(context.get_remaining_time_in_millis)
    return asdict(summary)
