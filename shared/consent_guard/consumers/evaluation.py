"""Behind PolicyEvaluationFunction: reports and re-opened cases from the evaluation queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from consent_guard.config import evaluation_settings
from consent_guard.messaging import EnforcementPublisher, QueuePublisher
from consent_guard.models.messages import EvaluationMessage, MediaMatched
from consent_guard.observability import logger
from consent_guard.repository import CaseRepository
from consent_guard.services.delivery import EffectDelivery, InlineDelivery
from consent_guard.services.evaluation import EvaluationService
from consent_guard.services.matching import MatchedMediaCases
from consent_guard.sqs_batch import BatchResponse, process_sqs_batch

_messages: TypeAdapter[Any] = TypeAdapter(EvaluationMessage)


@cache
def inline_delivery() -> InlineDelivery:
    """What a batch's decisions commit is delivered here once the batch is done; what is left, announced."""
    settings = evaluation_settings()
    effects_queue = QueuePublisher(settings.effects_queue_url)
    delivery = EffectDelivery(
        CaseRepository(settings.table_name),
        effects_queue=effects_queue,
        notifications=QueuePublisher(settings.notification_queue_url),
        evaluation_queue=None,  # a deleted post's re-evaluation is the effects function's (intake stores it)
        enforcement=EnforcementPublisher(settings.event_bus_name),
    )
    return InlineDelivery(delivery, effects_queue)


@cache
def evaluation_service() -> EvaluationService:
    settings = evaluation_settings()
    service = EvaluationService(CaseRepository(settings.table_name), QueuePublisher(settings.effects_queue_url))
    service.announcer = inline_delivery()
    return service


@cache
def matched_media_service() -> MatchedMediaCases:
    settings = evaluation_settings()
    service = MatchedMediaCases(CaseRepository(settings.table_name), QueuePublisher(settings.effects_queue_url))
    service.announcer = inline_delivery()  # one announcer: what a batch stored goes out together
    return service


def handle_evaluation_message(message_id: str, body: str) -> None:
    logger.append_keys(message_id=message_id)
    message = _messages.validate_json(body)
    if isinstance(message, MediaMatched):
        matched_media_service().handle_media_matched(message)
    else:
        evaluation_service().handle(message)


def handle_evaluation_batch(event: Mapping[str, Any], remaining_ms: Callable[[], int]) -> BatchResponse:
    # what the batch's changes stored is delivered once the batch is done, within the invocation's time (what is
    # left: announced, ten per send)
    with inline_delivery().batched(remaining_ms):
        response = process_sqs_batch(event, handle_evaluation_message)
        logger.remove_keys(["message_id"])  # what is delivered next is the batch's, not its last message's
    return response
