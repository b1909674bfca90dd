"""HTTP routes of the case API function: a person's notifications (cases and queues join here)."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from consent_guard.config import case_api_settings
from consent_guard.http.common import current_principal, error_responses, json_response, new_resolver
from consent_guard.models.api import NotificationPage, NotificationView
from consent_guard.repository import CaseRepository

app = new_resolver()


@cache
def repository() -> CaseRepository:
    return CaseRepository(case_api_settings().table_name)


@app.get(
    "/me/notifications",
    summary="Your notifications, newest first",
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": NotificationPage}}},
        **error_responses(400, 422, 503),
    },
    tags=["notifications"],
)
def my_notifications(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[str]:
    principal = current_principal(app)
    items, next_cursor = repository().inbox(principal.subject, limit, cursor)
    page = NotificationPage(
        items=[
            NotificationView(
                notification_id=n.notification_id,
                kind=n.kind.value,
                subject=n.subject,
                body=n.body,
                case_id=n.case_id,
                report_id=n.report_id,
                created_at=n.created_at,
                email_status=n.email_status.value,
            )
            for n in items
        ],
        next_cursor=next_cursor,
    )
    return json_response(HTTPStatus.OK, page)
