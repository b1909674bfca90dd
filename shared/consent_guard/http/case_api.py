"""HTTP routes of the case API function: queues, cases, claims, decisions, appeals, admin marks, and a person's
notifications. Roles are checked here in code, not only at the gateway."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, Literal

from consent_guard.auth import Group
from consent_guard.config import case_api_settings
from consent_guard.cursors import CursorSigner
from consent_guard.http.common import current_principal, error_responses, json_response, new_resolver
from consent_guard.http.router import Path, Query, RequestValidationError, Response
from consent_guard.messaging import QueuePublisher
from consent_guard.models.api import (
    AppealDecisionRequest,
    AppealFiled,
    AppealRequest,
    BankEntryChangeRequest,
    BankEntryView,
    CasePage,
    CaseSummary,
    CaseView,
    ContextAccepted,
    DecisionPreview,
    DecisionPreviewRequest,
    DecisionRequest,
    DedicatedExposureRequest,
    MediaViewed,
    MediaViewRequest,
    NotificationPage,
    NotificationView,
    PolicyRules,
    ProtectedMediaPage,
    ProtectedMediaRequest,
    ProtectedMediaView,
    QueueCounts,
    ReportPage,
)
from consent_guard.models.domain import Category
from consent_guard.models.stats import StatsReport
from consent_guard.repository import CaseRepository
from consent_guard.repository.stats import StatsRepository
from consent_guard.services.banking import BankService
from consent_guard.services.cases import CaseService
from consent_guard.services.stats import GROUP_BY, MAX_DAYS, StatsService, report_csv

app = new_resolver()

CaseId = Annotated[str, Path(pattern=r"^c_[a-z2-7]{24}$")]
AccountId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-:.]{1,128}$")]
ReportId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-:.]{1,128}$")]
EntryId = Annotated[str, Path(pattern=r"^b_[a-z2-7]{24}$")]


@cache
def repository() -> CaseRepository:
    return CaseRepository(case_api_settings().table_name)


@cache
def cursors() -> CursorSigner:
    return CursorSigner(case_api_settings().cursor_key.get_secret_value())


@cache
def case_service() -> CaseService:
    settings = case_api_settings()
    service = CaseService(repository(), QueuePublisher(settings.effects_queue_url))
    service.cursors = cursors()
    return service


INBOX_KEYS = frozenset({"PK", "SK", "LPK", "LSK"})


@cache
def bank_service() -> BankService:
    return BankService(repository())


def _ok(model: type, description: str) -> dict[int, dict[str, Any]]:
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
    category: Annotated[Category | None, Query(description="Only cases of this category")] = None,
) -> Response:
    page = case_service().queue(current_principal(app), queue, limit, cursor, category.value if category else None)
    return json_response(HTTPStatus.OK, page)


@app.get(
    "/cases/counts",
    summary="How many cases a work queue holds, per category, and how many are past their review deadline",
    responses={**_ok(QueueCounts, "The counts"), **error_responses(403, 422, 503)},
    tags=["cases"],
)
def count_cases(queue: Annotated[Literal["review", "appeals"], Query()]) -> Response:
    return json_response(HTTPStatus.OK, case_service().queue_counts(current_principal(app), queue))


@app.get(
    "/policy/rules",
    summary="The rules staff may cite for each outcome on a case of a category, with their text",
    responses={**_ok(PolicyRules, "The citable rules"), **error_responses(403, 422, 503)},
    tags=["cases"],
)
def policy_rules(category: Annotated[Category, Query()]) -> Response:
    return json_response(HTTPStatus.OK, case_service().policy_rules(current_principal(app), category))


@app.get(
    "/cases/<case_id>",
    summary="A case: staff see reports, history and the post; the author sees the decision and how to appeal",
    responses={**_ok(CaseView, "The case"), **error_responses(404, 422, 503)},
    tags=["cases"],
)
def get_case(case_id: CaseId) -> Response:
    return json_response(HTTPStatus.OK, case_service().view(current_principal(app), case_id))


@app.get(
    "/cases/<case_id>/reports",
    summary="Staff: the case's reports, oldest first, a page at a time (the view holds the first page)",
    responses={**_ok(ReportPage, "A page of reports"), **error_responses(400, 403, 404, 422, 503)},
    tags=["cases"],
)
def list_case_reports(
    case_id: CaseId,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    return json_response(HTTPStatus.OK, case_service().reports(current_principal(app), case_id, limit, cursor))


@app.post(
    "/cases/<case_id>/claim",
    summary="Take a case waiting for a person, for the policy's claim time",
    responses={**_ok(CaseSummary, "Claimed"), **error_responses(403, 404, 409, 422, 503)},
    tags=["cases"],
)
def claim_case(case_id: CaseId) -> Response:
    return json_response(HTTPStatus.OK, case_service().claim(current_principal(app), case_id))


@app.post(
    "/cases/<case_id>/decisions",
    summary="A moderator decides a case in review: remove, no_violation (citing a rule) or escalate",
    responses={**_ok(CaseView, "Decided"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["cases"],
)
def decide_case(case_id: CaseId, decision: DecisionRequest) -> Response:
    return json_response(HTTPStatus.OK, case_service().decide(current_principal(app), case_id, decision))


@app.post(
    "/cases/<case_id>/decisions/preview",
    summary="What a decision would be and the statement of reasons the author would receive; nothing is stored",
    responses={**_ok(DecisionPreview, "The preview"), **error_responses(403, 404, 413, 422, 503)},
    tags=["cases"],
)
def preview_decision(case_id: CaseId, preview: DecisionPreviewRequest) -> Response:
    return json_response(HTTPStatus.OK, case_service().preview_decision(current_principal(app), case_id, preview))


@app.post(
    "/cases/<case_id>/media-views",
    summary="Staff revealed one of the post's media items: recorded on the case (who looked, when)",
    responses={**_ok(MediaViewed, "Recorded"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["cases"],
)
def record_media_view(case_id: CaseId, view: MediaViewRequest) -> Response:
    return json_response(HTTPStatus.OK, case_service().record_media_view(current_principal(app), case_id, view))


@app.post(
    "/cases/<case_id>/appeals",
    summary="The author appeals a removal on a case they can see (a reporter appeals through their report)",
    responses={**_ok(CaseView, "Appeal filed"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["appeals"],
)
def appeal_case(case_id: CaseId, appeal: AppealRequest) -> Response:
    return json_response(HTTPStatus.OK, case_service().appeal(current_principal(app), case_id, appeal))


@app.post(
    "/reports/<report_id>/appeals",
    summary="A reporter appeals a decision to take no action on their report's case (anyone else: 404)",
    responses={**_ok(AppealFiled, "Appeal filed"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["appeals"],
)
def appeal_report(report_id: ReportId, appeal: AppealRequest) -> Response:
    return json_response(HTTPStatus.OK, case_service().appeal_by_report(current_principal(app), report_id, appeal))


@app.post(
    "/cases/<case_id>/appeals/decision",
    summary="An appeal reviewer (not the original decider) upholds or overturns the decision",
    responses={**_ok(CaseView, "Appeal decided"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["appeals"],
)
def decide_appeal(case_id: CaseId, decision: AppealDecisionRequest) -> Response:
    return json_response(HTTPStatus.OK, case_service().decide_appeal(current_principal(app), case_id, decision))


@app.put(
    "/admin/accounts/<account_id>/dedicated-exposure",
    summary="Admins mark an account as dedicated to exposing private information (top of the ladder)",
    responses={**_ok(ContextAccepted, "Marked"), **error_responses(403, 413, 422, 503)},
    tags=["admin"],
)
def mark_dedicated(account_id: AccountId, mark: DedicatedExposureRequest) -> Response:
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
) -> Response:
    principal = current_principal(app)
    principal.require_person()
    recipient = principal.subject
    if inbox != "personal":
        principal.require_group(Group(inbox))
        recipient = f"group:{inbox}"
    binding = f"{principal.subject}\n/me/notifications\n{inbox}"
    start = cursors().decode(cursor, binding, INBOX_KEYS)
    items, last_key = repository().inbox(recipient, limit, start)
    next_cursor = cursors().encode(last_key, binding)
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


@cache
def stats_service() -> StatsService:
    return StatsService(StatsRepository(case_api_settings().table_name, repository().client), case_service().clock)


StatsGroup = Literal["day", "week", "month", "total"]
assert set(GROUP_BY) == set(StatsGroup.__args__)  # type: ignore[attr-defined]


@app.get(
    "/stats",
    summary="Transparency statistics (DSA Art. 15/24) per UTC day, week or month: notices, decisions, enforcement, "
    "strikes, time to decision, appeals, Art. 23 measures, and what is pending now (admins); CSV with Accept: text/csv",
    responses={
        200: {
            "description": "The figures (JSON), or the same as RFC 4180 CSV, UTF-8 (period, from, to, metric, value)",
            "content": {"application/json": {"model": StatsReport}, "text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(403, 422, 503),
    },
    tags=["stats"],
)
def get_stats(
    from_date: Annotated[
        date | None, Query(alias="from", description="First UTC day (default: 29 days before to)")
    ] = None,
    to_date: Annotated[date | None, Query(alias="to", description="Last UTC day (default: today)")] = None,
    group_by: Annotated[
        StatsGroup, Query(description="One row of figures per day, ISO week, month, or in total")
    ] = "day",
) -> Response:
    service = stats_service()
    principal = current_principal(app)
    principal.require_group(Group.ADMINS)  # before anything about the query is answered
    today = service.clock().astimezone(UTC).date()
    last = to_date or today
    first = from_date or last - timedelta(days=29)
    errors = []
    if first > last:
        errors.append({"loc": ("query", "from"), "type": "value_error", "msg": "from must not be after to"})
    elif (last - first).days + 1 > MAX_DAYS:
        errors.append({"loc": ("query", "to"), "type": "value_error", "msg": f"at most {MAX_DAYS} days at once"})
    if errors:
        raise RequestValidationError(errors)
    report = service.report(principal, first, last, group_by)
    accept = (app.current_event.headers or {}).get("accept", "")
    if "text/csv" in accept.lower():
        name = f"consent-guard-stats-{first.isoformat()}-{last.isoformat()}-{group_by}.csv"
        return Response(
            status_code=HTTPStatus.OK.value,
            content_type="text/csv; charset=utf-8",
            body=report_csv(report),
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return json_response(HTTPStatus.OK, report)


@app.post(
    "/me/protected-media",
    summary="Protect a photo or video of yourself: its hashes, computed on your device (never the media)",
    responses={
        201: {"description": "Registered", "content": {"application/json": {"model": ProtectedMediaView}}},
        **error_responses(403, 413, 422, 429, 503),
    },
    tags=["protected media"],
)
def register_protected_media(media: ProtectedMediaRequest) -> Response:
    return json_response(HTTPStatus.CREATED, bank_service().register(current_principal(app), media))


@app.get(
    "/me/protected-media",
    summary="The photos and videos you protect (which hashes, never their values)",
    responses={**_ok(ProtectedMediaPage, "Your protected media"), **error_responses(403, 503)},
    tags=["protected media"],
)
def list_protected_media() -> Response:
    return json_response(HTTPStatus.OK, bank_service().list_protected(current_principal(app)))


@app.delete(
    "/me/protected-media/<protected_media_id>",
    summary="Withdraw a protected photo or video: its hashes are erased at once",
    responses={204: {"description": "Erased"}, **error_responses(403, 404, 422, 503)},
    tags=["protected media"],
)
def withdraw_protected_media(protected_media_id: EntryId) -> Response:
    bank_service().withdraw(current_principal(app), protected_media_id)
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


@app.get(
    "/admin/bank-entries/<entry_id>",
    summary="A bank entry (moderators and admins): bank, status, origin and history, never the hashes",
    responses={**_ok(BankEntryView, "The entry"), **error_responses(403, 404, 422, 503)},
    tags=["admin"],
)
def get_bank_entry(entry_id: EntryId) -> Response:
    return json_response(HTTPStatus.OK, bank_service().view_entry(current_principal(app), entry_id))


@app.post(
    "/admin/bank-entries/<entry_id>/status",
    summary="Admins disable a bank entry, or clear it (found not violating), with a reason",
    responses={**_ok(BankEntryView, "Changed"), **error_responses(403, 404, 409, 413, 422, 503)},
    tags=["admin"],
)
def change_bank_entry(entry_id: EntryId, change: BankEntryChangeRequest) -> Response:
    return json_response(HTTPStatus.OK, bank_service().change_entry(current_principal(app), entry_id, change))
