"""Request and response bodies of the HTTP API. Requests reject unknown fields (no mass assignment) and never
echo rejected input in their errors (it may be a phone number)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from consent_guard.models.domain import Category, MediaType, Relationship

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-:.]{1,128}$")]
Locale = Literal["en", "de"]


class Request(BaseModel):
    model_config = ConfigDict(
        defer_build=True, extra="forbid", frozen=True, hide_input_in_errors=True, str_strip_whitespace=True
    )


class Response(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)


class AttestationsIn(Request):
    accurate_and_complete: Literal[True] = Field(
        description="Good-faith statement that the notice is accurate and complete (EU DSA Art. 16(2)(d))."
    )
    information_is_mine: bool = Field(
        False, description="The information or media shown is of me / the person I represent."
    )
    not_published_elsewhere: bool = Field(False, description="I have not published it elsewhere online.")
    representative_authority: bool = Field(False, description="I am authorised to act for the person concerned.")


class SubmitReportRequest(Request):
    post_id: Identifier
    category: Category
    relationship: Relationship = Field(description="Your relationship to the person depicted or concerned.")
    represented_account_id: Identifier | None = Field(
        None,
        description="The account of the person you represent; required for authorized_representative.",
        validate_default=True,
    )
    description: str = Field("", max_length=2000, description="Why this violates the policy. Stored, never logged.")
    live_location: bool = Field(False, description="The post shares a real-time or same-day location.")
    attestations: AttestationsIn
    locale: Locale = "en"

    # field validators (not model validators), so that the 422 points at the field: ["body", "<field>"]
    @field_validator("represented_account_id")
    @classmethod
    def _representative_names_account(cls, value: str | None, info: ValidationInfo) -> str | None:
        relationship = info.data.get("relationship")
        if relationship == Relationship.AUTHORIZED_REPRESENTATIVE and not value:
            raise ValueError("represented_account_id is required when relationship is authorized_representative")
        if relationship is not None and relationship != Relationship.AUTHORIZED_REPRESENTATIVE and value:
            raise ValueError("represented_account_id is only for authorized_representative reports")
        return value


class ReportAccepted(Response):
    report_id: str
    case_id: str
    status: str = Field(description="received: stored and queued for evaluation.")
    amended: bool = Field(
        False, description="True: this added information (relationship, confirmations) to your earlier report."
    )
    missing_confirmations: list[str] = Field(
        default_factory=list,
        description="Confirmations a first-person report still lacks; until added a moderator reviews it and "
        "nothing is removed automatically.",
    )
    add_confirmations: str | None = Field(None, description="Where to add them: POST this path.")


class ConfirmationsRequest(Request):
    """Confirmations added to your own report (only `true` adds anything; nothing is taken back)."""

    information_is_mine: bool = False
    not_published_elsewhere: bool = False
    representative_authority: bool = False


class ReportView(Response):
    report_id: str
    case_id: str
    post_id: str
    category: Category
    relationship: Relationship
    status: str = Field(
        description="received, under_review, awaiting_first_person, needs_context, action_taken, no_violation or closed"
    )
    outcome: str | None = None
    explanation: str | None = Field(None, description="The statement of reasons of the case's current decision.")
    rule_ids: list[str] = []
    policy_version: str | None = None
    submitted_at: datetime
    decided_at: datetime | None = None
    missing_confirmations: list[str] = []
    add_confirmations: str | None = None


class PostSignalsIn(Request):
    public_interest: bool = False
    harassment: bool = False
    crisis: bool = False
    eyewitness: bool = False
    community_relevance: bool = False
    public_event: bool = False
    live_location: bool = Field(False, description="The platform confirms a real-time or same-day location.")


Md5Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{32}$", to_lower=True)]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", to_lower=True)]
PdqHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", to_lower=True)]


class MediaSignalsIn(Request):
    """Hashes computed where the media is (docs/hash-bank.md has a reference script); never the media itself."""

    md5: Md5Hex | None = Field(None, description="MD5 of the file, 32 hex digits.")
    sha256: Sha256Hex | None = Field(None, description="SHA-256 of the file, 64 hex digits.")
    pdq: PdqHex | None = Field(None, description="PDQ hash of a photo (256 bits), 64 hex digits. Photos only.")
    pdq_quality: int | None = Field(None, ge=0, le=100, description="PDQ quality, 0-100; required with pdq.")

    @model_validator(mode="after")
    def _pdq_with_quality(self) -> MediaSignalsIn:
        if (self.pdq is None) != (self.pdq_quality is None):
            raise ValueError("pdq and pdq_quality are given together")
        return self

    def any(self) -> bool:
        return bool(self.md5 or self.sha256 or self.pdq)


def _check_media_signals(media_type: MediaType, signals: MediaSignalsIn | None, required: bool) -> None:
    if signals is not None and media_type == MediaType.VIDEO and signals.pdq is not None:
        raise ValueError("videos carry md5 and sha256 only (PDQ is a photo hash)")
    if required and (signals is None or not signals.any()):
        raise ValueError("at least one of md5, sha256 or pdq is required")


class MediaItemIn(Request):
    media_id: Identifier
    media_type: MediaType
    md5: Md5Hex | None = None
    sha256: Sha256Hex | None = None
    pdq: PdqHex | None = None
    pdq_quality: int | None = Field(None, ge=0, le=100)

    @model_validator(mode="after")
    def _signals(self) -> MediaItemIn:
        _check_media_signals(self.media_type, self.signals(), required=False)
        return self

    def signals(self) -> MediaSignalsIn | None:
        if self.md5 is None and self.sha256 is None and self.pdq is None and self.pdq_quality is None:
            return None
        return MediaSignalsIn(md5=self.md5, sha256=self.sha256, pdq=self.pdq, pdq_quality=self.pdq_quality)


class PostContextRequest(Request):
    author_id: Identifier
    text: str = Field("", max_length=10000, description="The post's text. Stored for reviewers, never logged.")
    media: list[MediaItemIn] = Field(default_factory=list, max_length=20)
    created_at: AwareDatetime
    is_reshare: bool = False
    signals: PostSignalsIn = PostSignalsIn()


class AccountContextRequest(Request):
    public_figure: bool = False
    identity_verified: bool = Field(False, description="The platform verified who holds the account.")
    authorized_representatives: list[Identifier] = Field(
        default_factory=list,
        max_length=20,
        description="Accounts the platform confirmed may report on this account's behalf.",
    )
    contact_email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = (
        None
    )
    locale: Locale = "en"


class MediaContextRequest(Request):
    publicly_available: bool = False
    mainstream_coverage: bool = False
    depicted_account_ids: list[Identifier] = Field(
        default_factory=list, max_length=50, description="Accounts the platform knows are shown in the media."
    )


class ContextAccepted(Response):
    id: str
    reevaluating_cases: list[str] = Field(default_factory=list, description="Pending cases re-opened for evaluation.")


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


class FieldError(Response):
    loc: list[str | int]
    type: str
    msg: str


class ErrorBody(Response):
    code: str
    message: str
    errors: list[FieldError] | None = None


# ---------------------------------------------------------------- cases, queues, decisions, appeals

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


class ReportPage(Response):
    items: list[StaffReportView]
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


# ---------------------------------------------------------------- hash banks


class _MediaSignalsRequest(Request):
    """One media item's hashes (at least one that fits its type), never the media itself."""

    media_type: MediaType
    md5: Md5Hex | None = None
    sha256: Sha256Hex | None = None
    pdq: PdqHex | None = None
    pdq_quality: int | None = Field(None, ge=0, le=100)

    @model_validator(mode="after")
    def _signals(self) -> Self:
        signals = MediaSignalsIn(md5=self.md5, sha256=self.sha256, pdq=self.pdq, pdq_quality=self.pdq_quality)
        _check_media_signals(self.media_type, signals, required=True)
        return self


class ProtectedMediaRequest(_MediaSignalsRequest):
    """A person protects their own photo or video: hashes computed on their device, never the media."""

    category: Literal["intimate_media", "private_media"]


class ProtectedMediaView(Response):
    protected_media_id: str
    category: str
    media_type: str
    signals: list[str] = Field(description="Which hashes are registered (their values are never shown again).")
    created_at: datetime
    pdq_used: bool | None = Field(None, description="False when the PDQ hash's quality is too low to be used.")


class ProtectedMediaPage(Response):
    items: list[ProtectedMediaView]


class MediaMatchRequest(_MediaSignalsRequest):
    """One media item's signals, checked at upload."""


class MatchView(Response):
    entry_id: str
    bank: str
    category: str
    signal: str
    distance: int
    action: str = Field(description="What this match alone calls for: block, review or none.")
    rule_id: str


class MediaMatchResult(Response):
    action: str = Field(description="block (do not publish: removed media), review (send to review) or none.")
    rule_id: str | None = None
    category: str | None = None
    policy_version: str
    matches: list[MatchView]
    pdq_used: bool = Field(description="False when no PDQ was given or its quality is below the policy's minimum.")


class BankEntryChangeRequest(Request):
    action: Literal["disable", "clear"] = Field(
        description="disable: never matched again; clear: disabled, and its media banked as found not violating."
    )
    reason: str = Field(min_length=1, max_length=2000, description="Why. Staff only, never sent to anyone.")


class BankEntryView(Response):
    entry_id: str
    bank: str
    status: str
    category: str
    media_type: str
    signals: list[str]
    origin: str
    origin_case_id: str | None = None
    origin_decided_at: datetime | None = None
    origin_rule_ids: list[str] = []
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None = None
    events: list[dict[str, object]] = []


class DetectionView(Response):
    """Staff only: why consent-guard opened this case itself (the matches, never the hashes)."""

    source: str
    matches: list[dict[str, object]]
