"""Behind NotificationFunction: notification requests from the notification queue."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from consent_guard.config import notification_settings
from consent_guard.messaging import EmailSender
from consent_guard.models.messages import NotificationRequest
from consent_guard.observability import logger
from consent_guard.repository import CaseRepository
from consent_guard.services.notifications import NotificationService
from consent_guard.sqs_batch import BatchResponse, process_sqs_batch


@cache
def notification_service() -> NotificationService:
    settings = notification_settings()
    return NotificationService(CaseRepository(settings.table_name), EmailSender(settings.sender_email))


def handle_notification_message(message_id: str, body: str) -> None:
    request = NotificationRequest.model_validate_json(body)
    logger.append_keys(message_id=message_id, notification_id=request.notification_id)
    notification_service().deliver(request)


def handle_notification_batch(event: Mapping[str, Any]) -> BatchResponse:
    return process_sqs_batch(event, handle_notification_message)
