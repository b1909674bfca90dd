"""HTTP route of the media matching function: the platform checks one media item's signals at upload."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus

from consent_guard.config import matching_settings
from consent_guard.http.common import current_principal, error_responses, json_response, new_resolver
from consent_guard.http.router import Response
from consent_guard.matching.matcher import PdqMatcher
from consent_guard.models.api.media import MediaMatchRequest, MediaMatchResult
from consent_guard.repository import CaseRepository

app = new_resolver()


@cache
def matcher() -> PdqMatcher:
    settings = matching_settings()
    return PdqMatcher(CaseRepository(settings.table_name), None, settings.snapshot_bucket)


@app.post(
    "/media/matches",
    summary="Check one media item's hashes against the banks: block (removed media), review, or nothing",
    responses={
        200: {"description": "What the policy says", "content": {"application/json": {"model": MediaMatchResult}}},
        **error_responses(403, 413, 422, 503),
    },
    tags=["media"],
)
def check_media(media: MediaMatchRequest) -> Response:
    return json_response(HTTPStatus.OK, matcher().check(current_principal(app), media))
