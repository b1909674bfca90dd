"""Bodies of the case API: queues, cases, decisions, appeals, a person's notifications."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from consent_guard.models.api.base import Identifier, Request, Response


class NotificationView(Response):
    notification_id: str
    kind: str
    subject: str
    body: str
    case_id: str | None = None
    report_id: str | None = None
    created_at: datetime
    email_status: str


class NotificationPage(Response):
    items: list[NotificationView]
    next_cursor: str | None = None


RuleId = Annotated[str, StringConstraints(pattern=r"^PIM-[A-Z0-9]{1,8}$")]


MAX_VERSION = 2**31 - 1


class DecisionRequest(Request):
    outcome: Literal["remove", "no_violation", "escalate"]
    rule_id: RuleId | None = Field(
        None, description="The policy rule cited; required unless escalating.", validate_default=True
    )
    note: str = Field("", max_length=2000, description="For the case file; staff only, never sent to anyone.")
    version: int = Field(ge=1, le=MAX_VERSION, description="The case version the moderator saw; a stale one is a 409.")
    manifestly_unfounded: bool = Field(
        False, description="no_violation only: the reports were manifestly unfounded (counts towards EU DSA Art. 23)."
    )

    @field_validator("rule_id")
    @classmethod
    def _rule_unless_escalating(cls, value: str | None, info: ValidationInfo) -> str | None:
        outcome = info.data.get("outcome")
        if outcome is not None and outcome != "escalate" and not value:
            raise ValueError("rule_id is required for remove and no_violation")
        return value

    @field_validator("manifestly_unfounded")
    @classmethod
    def _unfounded_only_without_violation(cls, value: bool, info: ValidationInfo) -> bool:
        outcome = info.data.get("outcome")
        if value and outcome is not None and outcome != "no_violation":
            raise ValueError("manifestly_unfounded applies to no_violation decisions only")
        return value


class AppealRequest(Request):
    reason: str = Field(min_length=1, max_length=2000, description="Why the decision is wrong. Staff only.")


class AppealFiled(Response):
    report_id: str
    case_id: str
    status: str = Field(description="under_review: a person who took no part in the decision reviews it.")
    filed_at: datetime


class AppealDecisionRequest(Request):
    result: Literal["uphold", "overturn"]
    rule_id: RuleId | None = Field(
        None, description="The rule the new decision cites; required to overturn.", validate_default=True
    )
    note: str = Field("", max_length=2000)
    version: int = Field(ge=1, le=MAX_VERSION)

    @field_validator("rule_id")
    @classmethod
    def _rule_when_overturning(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("result") == "overturn" and not value:
            raise ValueError("rule_id is required to overturn a decision")
        return value


class DedicatedExposureRequest(Request):
    dedicated_to_exposure: bool


class DecisionView(Response):
    outcome: str
    enforcement: str
    rule_ids: list[str]
    policy_version: str
    automated: bool
    statement_of_reasons: str
    reasons: list[str] = []
    decided_at: datetime | None = None
    decided_by: str | None = None


class CaseSummary(Response):
    case_id: str
    post_id: str
    category: str
    state: str
    version: int
    review_priority: int | None = None
    queued_at: datetime | None = None
    review_due_at: datetime | None = None
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
    appeal_filed_at: datetime | None = None
    appellant_role: str | None = None
    trusted_flagger: bool = Field(False, description="A report from a trusted flagger (EU DSA Art. 22) is among it.")
    report_count: int | None = Field(None, description="Reports received on the case (queues only).")


class CasePage(Response):
    items: list[CaseSummary]
    next_cursor: str | None = None


class QueueCategoryCount(Response):
    cases: int
    overdue: int = Field(description="Past their review deadline.")


class QueueCounts(Response):
    queue: str
    total: int
    overdue: int
    categories: dict[str, QueueCategoryCount]


class MediaViewRequest(Request):
    media_id: Identifier


class MediaViewed(Response):
    case_id: str
    media_id: str
    viewed_by: str
    viewed_at: datetime
    version: int = Field(description="The case's version after the view was recorded.")


class DecisionPreviewRequest(Request):
    outcome: Literal["remove", "no_violation"]
    rule_id: RuleId


class DecisionPreview(Response):
    """What a decision would be, with the statement of reasons the author would receive; nothing is stored."""

    outcome: str
    enforcement: str
    issues_strike: bool
    rule_ids: list[str]
    policy_version: str
    statement_of_reasons: str


class CitableRule(Response):
    rule_id: str
    heading: str
    text: str


class PolicyRules(Response):
    policy_version: str
    category: str
    outcomes: dict[str, list[CitableRule]] = Field(description="remove, no_violation: the rules a person may cite.")


class StrikeView(Response):
    case_id: str
    category: str
    rule_id: str
    issued_at: datetime
    expires_at: datetime


class StaffReportView(Response):
    report_id: str
    reporter_id: str
    relationship: str
    attestations: dict[str, bool]
    live_location: bool
    trusted_flagger: bool
    description: str
    status: str
    submitted_at: datetime


class ReportPage(Response):
    items: list[StaffReportView]
    next_cursor: str | None = None


class CaseEventView(Response):
    seq: int
    type: str
    at: datetime
    actor: str
    data: dict[str, object]


class StatementView(Response):
    """A statement of reasons owed to the EU Transparency Database, and what became of it."""

    puid: str
    decision_seq: int = Field(description="Sequence number of the enforcement event whose statement it is.")
    status: str = Field(description="pending, submitted or rejected")
    tdb_uuid: str | None = Field(None, description="The database's id, once accepted.")
    permalink: str | None = Field(None, description="The statement's public page in the database.")
    submitted_at: datetime | None = None
    rejected_fields: list[str] = Field([], description="Fields the database refused (names only).")


class PostView(Response):
    post_id: str
    author_id: str
    text: str
    media: list[dict[str, str]]
    signals: dict[str, bool]
    deleted: bool
    is_reshare: bool


class AppealView(Response):
    appellant_role: str
    filed_at: datetime
    reason: str | None = None


class DetectionView(Response):
    """Staff only: why consent-guard opened this case itself (the matches, never the hashes)."""

    source: str
    matches: list[dict[str, object]]


class CaseView(Response):
    """The case as staff see it (moderators, appeal reviewers, admins), or the author's narrower view."""

    case: CaseSummary
    decision: DecisionView | None = None
    measures_active: list[str] = []
    appeal: AppealView | None = None
    appeal_deadline: datetime | None = None
    can_appeal: bool = False
    reports: list[StaffReportView] | None = Field(
        None, description="Staff only: the first page of the case's reports, oldest first."
    )
    reports_next_cursor: str | None = Field(
        None, description="Staff only: the next page of reports, from GET /cases/{case_id}/reports?cursor=."
    )
    events: list[CaseEventView] | None = Field(None, description="Staff only.")
    post: PostView | None = Field(None, description="Staff only.")
    failed_notifications: list[dict[str, object]] | None = Field(
        None, description="Staff only: notifications whose email has failed (kind, attempts, current status)."
    )
    author_strikes: list[StrikeView] | None = Field(None, description="Staff only: the author's strikes in force.")
    statements: list[StatementView] | None = Field(
        None, description="Staff only: statements of reasons sent to the EU Transparency Database (DSA Art. 24(5))."
    )
    detection: DetectionView | None = Field(None, description="Staff only: the bank matches that opened the case.")
