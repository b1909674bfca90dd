"""Behind PolicyEvaluationFunction: reports and re-opened cases from the evaluation queue."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from consent_guard.config import evaluation_settings
from consent_guard.messaging import QueuePublisher
from consent_guard.models.messages import EvaluationMessage, MediaMatched
from consent_guard.observability import logger
from consent_guard.repository import CaseRepository
from consent_guard.services.evaluation import EvaluationService
from consent_guard.services.matching import MatchedMediaCases
from consent_guard.sqs_batch import BatchResponse, process_sqs_batch

_messages: TypeAdapter[Any] = TypeAdapter(EvaluationMessage)


@cache
def evaluation_service() -> EvaluationService:
    settings = evaluation_settings()
    return EvaluationService(CaseRepository(settings.table_name), QueuePublisher(settings.effects_queue_url))


@cache
def matched_media_service() -> MatchedMediaCases:
    settings = evaluation_settings()
    service = MatchedMediaCases(CaseRepository(settings.table_name), QueuePublisher(settings.effects_queue_url))
    service.announcer = evaluation_service().announcer  # one announcer: a batch's announcements go out together
    return service


def handle_evaluation_message(message_id: str, body: str) -> None:
    logger.append_keys(message_id=message_id)
    message = _messages.validate_json(body)
    if isinstance(message, MediaMatched):
        matched_media_service().handle_media_matched(message)
    else:
        evaluation_service().handle(message)


def handle_evaluation_batch(event: Mapping[str, Any]) -> BatchResponse:
    # what the batch's changes stored is announced to the effects queue once the batch is done, ten per send
    with evaluation_service().announcer.batched():
        return process_sqs_batch(event, handle_evaluation_message)
