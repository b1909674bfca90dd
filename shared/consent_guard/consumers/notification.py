"""Behind NotificationFunction: notification requests from the notification queue, a batch at a time."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import ValidationError

from consent_guard.config import notification_settings
from consent_guard.messaging import EmailSender
from consent_guard.models.messages import NotificationRequest
from consent_guard.observability import logger
from consent_guard.repository import CaseRepository
from consent_guard.repository.notifications import DeliveryState
from consent_guard.services.notifications import NotificationService
from consent_guard.sqs_batch import BatchResponse, process_sqs_batch


@cache
def notification_service() -> NotificationService:
    settings = notification_settings()
    return NotificationService(CaseRepository(settings.table_name), EmailSender(settings.sender_email))


def handle_notification_message(message_id: str, body: str, state: DeliveryState | None = None) -> None:
    request = NotificationRequest.model_validate_json(body)
    logger.append_keys(message_id=message_id, notification_id=request.notification_id)
    notification_service().deliver(request, state)


def _batch_state(event: Mapping[str, Any]) -> DeliveryState | None:
    """The batch's one read: every valid request's recipient context and record. None when that read fails (a
    record whose keys DynamoDB refuses, an outage): then each message reads its own, and fails on its own."""
    requests = []
    for record in event.get("Records") or []:
        try:
            requests.append(NotificationRequest.model_validate_json(str(record.get("body", ""))))
        except ValidationError:
            continue  # fails on its own below, with the rest of the batch unaffected
    if not requests:
        return None
    try:
        return notification_service().prepare(requests)
    except Exception as exc:
        logger.warning("batch read failed; reading per message", error=type(exc).__name__, messages=len(requests))
        return None


def handle_notification_batch(event: Mapping[str, Any]) -> BatchResponse:
    state = _batch_state(event)
    return process_sqs_batch(event, lambda message_id, body: handle_notification_message(message_id, body, state))
