"""Behind StatementSubmitterFunction: one run that sends the pending statements of reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from functools import cache
from typing import Any

from consent_guard.config import SubmissionMode, submitter_settings
from consent_guard.observability import LambdaContext, logger
from consent_guard.repository.statements import StatementRepository
from consent_guard.services.statements import StatementSubmitter, monotonic_budget
from consent_guard.transparency_db import TdbClient, TdbUnauthorized, api_token

RESERVE_MS = 5000  # stop starting batches this long before the invocation's timeout


@cache
def submitter() -> StatementSubmitter:
    settings = submitter_settings()
    client = None
    if settings.mode is not SubmissionMode.OFF:
        client = TdbClient(
            settings.base_url,
            lambda: api_token(settings.token_parameter),
            timeout=settings.timeout_seconds,
        )
    return StatementSubmitter(StatementRepository(settings.table_name), client, settings.mode)


def run_statement_submitter(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info("statement submission started", event_id=event.get("id"), scheduled_time=event.get("time"))
    service = submitter()
    if service.client is not None:
        service.client.budget = monotonic_budget(context.get_remaining_time_in_millis, RESERVE_MS)
    try:
        summary = service.run(context.get_remaining_time_in_millis, RESERVE_MS)
    except TdbUnauthorized:
        api_token.cache_clear()  # a new token may have replaced the old one: read the parameter again next run
        raise
    return asdict(summary)
