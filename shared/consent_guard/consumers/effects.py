"""Behind EffectsFunction: outbox items announced on the effects queue (by the change that stored them, a page of
a fan-out handing on the rest, or the scheduled re-review's safety net)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from consent_guard.config import effects_settings
from consent_guard.messaging import EnforcementPublisher, QueuePublisher
from consent_guard.models.effects import OutboxReady
from consent_guard.observability import logger
from consent_guard.repository import CaseRepository
from consent_guard.services.delivery import EffectDelivery
from consent_guard.sqs_batch import BatchResponse, process_sqs_batch


@cache
def effect_delivery() -> EffectDelivery:
    settings = effects_settings()
    return EffectDelivery(
        CaseRepository(settings.table_name),
        effects_queue=QueuePublisher(settings.effects_queue_url),
        notifications=QueuePublisher(settings.notification_queue_url),
        evaluation_queue=QueuePublisher(settings.evaluation_queue_url),
        enforcement=EnforcementPublisher(settings.event_bus_name),
    )


def handle_effects_message(message_id: str, body: str) -> None:
    ready = OutboxReady.model_validate_json(body)  # a poison message raises: retried, then dead-lettered
    logger.append_keys(message_id=message_id, outbox_id=ready.outbox_id)
    effect_delivery().deliver(ready.outbox_id)


def handle_effects_batch(event: Mapping[str, Any]) -> BatchResponse:
    return process_sqs_batch(event, handle_effects_message)
