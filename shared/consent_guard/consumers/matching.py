"""Behind MediaMatchingFunction's queue: posts whose context arrived with media signals."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from consent_guard.config import matching_settings
from consent_guard.http.matching_api import matcher
from consent_guard.messaging import QueuePublisher
from consent_guard.models.messages import MatchPost
from consent_guard.observability import logger
from consent_guard.sqs_batch import BatchResponse, process_sqs_batch


@cache
def evaluation_queue() -> QueuePublisher:
    return QueuePublisher(matching_settings().evaluation_queue_url)


def handle_matching_message(message_id: str, body: str) -> None:
    logger.append_keys(message_id=message_id)
    matcher().match_post(MatchPost.model_validate_json(body), evaluation_queue())


def handle_matching_batch(event: Mapping[str, Any]) -> BatchResponse:
    return process_sqs_batch(event, handle_matching_message)
