"""HTTP routes of the report intake function: reports from people, context from the platform."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Annotated

from consent_guard.config import intake_settings
from consent_guard.http.common import current_principal, error_responses, json_response, new_resolver
from consent_guard.http.router import Header, Path, Response
from consent_guard.messaging import QueuePublisher
from consent_guard.models.api.base import ContextAccepted
from consent_guard.models.api.reports import (
    AccountContextRequest,
    ConfirmationsRequest,
    MediaContextRequest,
    PostContextRequest,
    ReportAccepted,
    ReportView,
    SubmitReportRequest,
)
from consent_guard.repository import CaseRepository
from consent_guard.services.intake import IntakeService

app = new_resolver()

Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-:.]{1,128}$")]


@cache
def intake_service() -> IntakeService:
    settings = intake_settings()
    return IntakeService(
        CaseRepository(settings.table_name),
        QueuePublisher(settings.evaluation_queue_url),
        QueuePublisher(settings.effects_queue_url),
        matching_queue=QueuePublisher(settings.matching_queue_url),
    )


@app.post(
    "/reports",
    summary="Report a post that shares private information or media without consent",
    responses={
        202: {
            "description": "Accepted (or the original result of a duplicate)",
            "content": {"application/json": {"model": ReportAccepted}},
        },
        **error_responses(403, 409, 413, 422, 429, 503),
    },
    tags=["reports"],
)
def submit_report(
    report: SubmitReportRequest,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", max_length=128)] = None,
) -> Response:
    submission = intake_service().submit_report(current_principal(app), report, idempotency_key)
    headers = {} if submission.created else {"Idempotent-Replayed": "true"}
    return json_response(HTTPStatus.ACCEPTED, submission.accepted, headers)


@app.get(
    "/reports/<report_id>",
    summary="Your report, its status and the decision on its case",
    responses={
        200: {"description": "The report", "content": {"application/json": {"model": ReportView}}},
        **error_responses(403, 404, 503),
    },
    tags=["reports"],
)
def get_report(report_id: Id) -> Response:
    return json_response(HTTPStatus.OK, intake_service().view_report(current_principal(app), report_id))


@app.post(
    "/reports/<report_id>/confirmations",
    summary="Add the confirmations your first-person report lacked (anyone else: 404)",
    responses={
        202: {
            "description": "Taken in (or, when nothing was added, what is still missing)",
            "content": {"application/json": {"model": ReportAccepted}},
        },
        **error_responses(403, 404, 413, 422, 503),
    },
    tags=["reports"],
)
def add_confirmations(report_id: Id, confirmations: ConfirmationsRequest) -> Response:
    return json_response(
        HTTPStatus.ACCEPTED, intake_service().add_confirmations(current_principal(app), report_id, confirmations)
    )


@app.put(
    "/context/posts/<post_id>",
    summary="The platform records a post's facts and signals",
    responses={
        200: {"description": "Stored", "content": {"application/json": {"model": ContextAccepted}}},
        **error_responses(403, 413, 422, 503),
    },
    tags=["context"],
)
def put_post_context(post_id: Id, context: PostContextRequest) -> Response:
    return json_response(HTTPStatus.OK, intake_service().put_post_context(current_principal(app), post_id, context))


@app.post(
    "/context/posts/<post_id>/deleted",
    summary="The platform reports that the author deleted the post",
    responses={
        200: {"description": "Recorded", "content": {"application/json": {"model": ContextAccepted}}},
        **error_responses(403, 404, 503),
    },
    tags=["context"],
)
def post_deleted(post_id: Id) -> Response:
    return json_response(HTTPStatus.OK, intake_service().post_deleted(current_principal(app), post_id))


@app.put(
    "/context/accounts/<account_id>",
    summary="The platform records an account's facts (public figure, contact email, locale)",
    responses={
        200: {"description": "Stored", "content": {"application/json": {"model": ContextAccepted}}},
        **error_responses(403, 413, 422, 503),
    },
    tags=["context"],
)
def put_account_context(account_id: Id, context: AccountContextRequest) -> Response:
    return json_response(
        HTTPStatus.OK, intake_service().put_account_context(current_principal(app), account_id, context)
    )


@app.put(
    "/context/media/<media_id>",
    summary="The platform records a media item's facts (publicly available, mainstream coverage)",
    responses={
        200: {"description": "Stored", "content": {"application/json": {"model": ContextAccepted}}},
        **error_responses(403, 413, 422, 503),
    },
    tags=["context"],
)
def put_media_context(media_id: Id, context: MediaContextRequest) -> Response:
    return json_response(HTTPStatus.OK, intake_service().put_media_context(current_principal(app), media_id, context))
