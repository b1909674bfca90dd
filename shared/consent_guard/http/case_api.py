"""HTTP routes of the case API function: queues, cases, claims, decisions, appeals, admin marks, and a person's
notifications. Roles are checked here in code, not only at the gateway."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from consent_guard.auth import Group
from consent_guard.config import case_api_settings
from consent_guard.http.common import current_principal, error_responses, json_response, new_resolver
from consent_guard.messaging import EnforcementPublisher, QueuePublisher
from consent_guard.models.api import (
    AppealDecisionRequest,
    AppealRequest,
    BankEntryChangeRequest,
    BankEntryView,
    CasePage,
    CaseSummary,
    CaseView,
    ContextAccepted,
    DecisionRequest,
    DedicatedExposureRequest,
    NotificationPage,
    NotificationView,
    ProtectedMediaPage,
    ProtectedMediaRequest,
    ProtectedMediaView,
)
from consent_guard.repository import CaseRepository
from consent_guard.services.banking import BankService
from consent_guard.services.cases import CaseService

app = new_resolver()

CaseId = Annotated[str, Path(pattern=r"^c_[a-z2-7]{24}$")]
AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-:.]{1,128}$")]
EntryId = Annotated[str, Path(pattern=r"^b_[a-z2-7]{24}$")]


@cache
def repository() -> CaseRepository:
    return CaseRepository(case_api_settings().table_name)


@cache
def case_service() -> CaseService:
    settings = case_api_settings()
    return CaseService(
        repository(),
        QueuePublisher(settings.notification_queue_url),
        EnforcementPublisher(settings.event_bus_name),
    )


@cache
def bank_service() -> BankService:
    return BankService(repository())


def _ok(model: type, description: str) -> dict[int, OpenAPIResponse]:
    return {200: {"description": description, "content": {"application/json": {"model": model}}}}


@app.get(
    "/cases",
    summary="A work queue: `review` (moderators) by priority then age, or `appeals` (appeal reviewers)",
    responses={**_ok(CasePage, "A page of cases"), **error_responses(400, 403, 422, 503)},
    tags=["cases"],
)
def list_cases(
    queue: Annotated[Literal["review", "appeals"], Query()],
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response[str]:
    return json_response(HTTPStatus.OK, case_service().queue(current_principal(app), queue, limit, cursor))


@app.get(
    "/cases/<case_id>",
    summary="A case: staff see reports, history and the post; the author sees the decision and how to appeal",
    responses={**_ok(CaseView, "The case"), **error_responses(404, 422, 503)},
    tags=["cases"],
)
def get_case(case_id: CaseId) -> Response[str]:
    return json_response(HTTPStatus.OK, case_service().view(current_principal(app), case_id))


@app.post(
    "/cases/<case_id>/claim",
    summary="Take a case waiting for a person, for the policy's claim time",
    responses={**_ok(CaseSummary, "Claimed"), **error_responses(403, 404, 409, 422, 503)},
    tags=["cases"],
)
def claim_case(case_id: CaseId) -> Response[str]:
    return json_response(HTTPStatus.OK, case_service().claim(current_principal(app), case_id))


@app.post(
    "/cases/<case_id>/decisions",
    summary="A moderator decides a case in review: remove, no_violation (citing a rule) or escalate",
    responses={**_ok(CaseView, "Decided"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["cases"],
)
def decide_case(case_id: CaseId, decision: DecisionRequest) -> Response[str]:
    return json_response(HTTPStatus.OK, case_service().decide(current_principal(app), case_id, decision))


@app.post(
    "/cases/<case_id>/appeals",
    summary="Appeal the case's decision: the author a removal, a reporter a decision to take no action",
    responses={**_ok(CaseView, "Appeal filed"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["appeals"],
)
def appeal_case(case_id: CaseId, appeal: AppealRequest) -> Response[str]:
    return json_response(HTTPStatus.OK, case_service().appeal(current_principal(app), case_id, appeal))


@app.post(
    "/cases/<case_id>/appeals/decision",
    summary="An appeal reviewer (not the original decider) upholds or overturns the decision",
    responses={**_ok(CaseView, "Appeal decided"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["appeals"],
)
def decide_appeal(case_id: CaseId, decision: AppealDecisionRequest) -> Response[str]:
    return json_response(HTTPStatus.OK, case_service().decide_appeal(current_principal(app), case_id, decision))


@app.put(
    "/admin/accounts/<account_id>/dedicated-exposure",
    summary="Admins mark an account as dedicated to exposing private information (top of the ladder)",
    responses={**_ok(ContextAccepted, "Marked"), **error_responses(403, 413, 422, 503)},
    tags=["admin"],
)
def mark_dedicated(account_id: AccountId, mark: DedicatedExposureRequest) -> Response[str]:
    return json_response(
        HTTPStatus.OK, case_service().set_dedicated_to_exposure(current_principal(app), account_id, mark)
    )


@app.get(
    "/me/notifications",
    summary="Your notifications (or your group's shared inbox), newest first",
    responses={**_ok(NotificationPage, "A page"), **error_responses(400, 403, 422, 503)},
    tags=["notifications"],
)
def my_notifications(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    inbox: Annotated[
        Literal["personal", "moderators", "appeals", "admins"],
        Query(description="`personal`, or the shared inbox of a group you belong to (e.g. SLA breaches)"),
    ] = "personal",
) -> Response[str]:
    principal = current_principal(app)
    principal.require_person()
    recipient = principal.subject
    if inbox != "personal":
        principal.require_group(Group(inbox))
        recipient = f"group:{inbox}"
    items, next_cursor = repository().inbox(recipient, limit, cursor)
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


@app.post(
    "/me/protected-media",
    summary="Protect a photo or video of yourself: its hashes, computed on your device (never the media)",
    responses={
        201: {"description": "Registered", "content": {"application/json": {"model": ProtectedMediaView}}},
        **error_responses(403, 413, 422, 429, 503),
    },
    tags=["protected media"],
)
def register_protected_media(media: ProtectedMediaRequest) -> Response[str]:
    return json_response(HTTPStatus.CREATED, bank_service().register(current_principal(app), media))


@app.get(
    "/me/protected-media",
    summary="The photos and videos you protect (which hashes, never their values)",
    responses={**_ok(ProtectedMediaPage, "Your protected media"), **error_responses(403, 503)},
    tags=["protected media"],
)
def list_protected_media() -> Response[str]:
    return json_response(HTTPStatus.OK, bank_service().list_protected(current_principal(app)))


@app.delete(
    "/me/protected-media/<protected_media_id>",
    summary="Withdraw a protected photo or video: its hashes are erased at once",
    responses={204: {"description": "Erased"}, **error_responses(403, 404, 422, 503)},
    tags=["protected media"],
)
def withdraw_protected_media(protected_media_id: EntryId) -> Response[str]:
    bank_service().withdraw(current_principal(app), protected_media_id)
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


@app.get(
    "/admin/bank-entries/<entry_id>",
    summary="A bank entry (moderators and admins): bank, status, origin and history, never the hashes",
    responses={**_ok(BankEntryView, "The entry"), **error_responses(403, 404, 422, 503)},
    tags=["admin"],
)
def get_bank_entry(entry_id: EntryId) -> Response[str]:
    return json_response(HTTPStatus.OK, bank_service().view_entry(current_principal(app), entry_id))


@app.post(
    "/admin/bank-entries/<entry_id>/status",
    summary="Admins disable a bank entry, or clear it (found not violating), with a reason",
    responses={**_ok(BankEntryView, "Changed"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["admin"],
)
def change_bank_entry(entry_id: EntryId, change: BankEntryChangeRequest) -> Response[str]:
    return json_response(HTTPStatus.OK, bank_service().change_entry(current_principal(app), entry_id, change))
