"""Request and response bodies of the HTTP API. Requests reject unknown fields (no mass assignment) and never
echo rejected input in their errors (it may be a phone number)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from consent_guard.models.domain import Category, MediaType, Relationship

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-:.]{1,128}$")]
Locale = Literal["en", "de"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, str_strip_whitespace=True)


class Response(BaseModel):
    model_config = ConfigDict(frozen=True)


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
        None, description="The account of the person you represent; required for authorized_representative."
    )
    description: str = Field("", max_length=2000, description="Why this violates the policy. Stored, never logged.")
    live_location: bool = Field(False, description="The post shares a real-time or same-day location.")
    attestations: AttestationsIn
    locale: Locale = "en"

    @model_validator(mode="after")
    def _representative_names_account(self) -> SubmitReportRequest:
        if self.relationship == Relationship.AUTHORIZED_REPRESENTATIVE and not self.represented_account_id:
            raise ValueError("represented_account_id is required when relationship is authorized_representative")
        if self.relationship != Relationship.AUTHORIZED_REPRESENTATIVE and self.represented_account_id:
            raise ValueError("represented_account_id is only for authorized_representative reports")
        return self


class ReportAccepted(Response):
    report_id: str
    case_id: str
    status: str = Field(description="received: stored and queued for evaluation.")


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


class PostSignalsIn(Request):
    public_interest: bool = False
    harassment: bool = False
    crisis: bool = False
    eyewitness: bool = False
    community_relevance: bool = False
    public_event: bool = False


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
    contact_email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = (
        None
    )
    locale: Locale = "en"


class MediaContextRequest(Request):
    publicly_available: bool = False
    mainstream_coverage: bool = False


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


class DecisionRequest(Request):
    outcome: Literal["remove", "no_violation", "escalate"]
    rule_id: RuleId | None = Field(None, description="The policy rule cited; required unless escalating.")
    note: str = Field("", max_length=2000, description="For the case file; staff only, never sent to anyone.")
    version: int = Field(ge=1, description="The case version the moderator saw; a stale version is a 409.")
    manifestly_unfounded: bool = Field(
        False, description="no_violation only: the reports were manifestly unfounded (counts towards EU DSA Art. 23)."
    )

    @model_validator(mode="after")
    def _rule_unless_escalating(self) -> DecisionRequest:
        if self.outcome != "escalate" and not self.rule_id:
            raise ValueError("rule_id is required for remove and no_violation")
        if self.manifestly_unfounded and self.outcome != "no_violation":
            raise ValueError("manifestly_unfounded applies to no_violation decisions only")
        return self


class AppealRequest(Request):
    reason: str = Field(min_length=1, max_length=2000, description="Why the decision is wrong. Staff only.")


class AppealDecisionRequest(Request):
    result: Literal["uphold", "overturn"]
    rule_id: RuleId | None = Field(None, description="The rule the new decision cites; required to overturn.")
    note: str = Field("", max_length=2000)
    version: int = Field(ge=1)

    @model_validator(mode="after")
    def _rule_when_overturning(self) -> AppealDecisionRequest:
        if self.result == "overturn" and not self.rule_id:
            raise ValueError("rule_id is required to overturn a decision")
        return self


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


class CasePage(Response):
    items: list[CaseSummary]
    next_cursor: str | None = None


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
    reports: list[StaffReportView] | None = Field(None, description="Staff only.")
    events: list[CaseEventView] | None = Field(None, description="Staff only.")
    post: PostView | None = Field(None, description="Staff only.")
    failed_notifications: list[dict[str, object]] | None = Field(
        None, description="Staff only: notifications whose email has failed (kind, attempts, current status)."
    )
    detection: DetectionView | None = Field(None, description="Staff only: the bank matches that opened the case.")


# ---------------------------------------------------------------- hash banks


class ProtectedMediaRequest(Request):
    """A person protects their own photo or video: hashes computed on their device, never the media."""

    category: Literal["intimate_media", "private_media"]
    media_type: MediaType
    md5: Md5Hex | None = None
    sha256: Sha256Hex | None = None
    pdq: PdqHex | None = None
    pdq_quality: int | None = Field(None, ge=0, le=100)

    @model_validator(mode="after")
    def _signals(self) -> ProtectedMediaRequest:
        signals = MediaSignalsIn(md5=self.md5, sha256=self.sha256, pdq=self.pdq, pdq_quality=self.pdq_quality)
        _check_media_signals(self.media_type, signals, required=True)
        return self


class ProtectedMediaView(Response):
    protected_media_id: str
    category: str
    media_type: str
    signals: list[str] = Field(description="Which hashes are registered (their values are never shown again).")
    created_at: datetime
    pdq_used: bool | None = Field(None, description="False when the PDQ hash's quality is too low to be used.")


class ProtectedMediaPage(Response):
    items: list[ProtectedMediaView]


class MediaMatchRequest(Request):
    """One media item's signals, checked at upload."""

    media_type: MediaType
    md5: Md5Hex | None = None
    sha256: Sha256Hex | None = None
    pdq: PdqHex | None = None
    pdq_quality: int | None = Field(None, ge=0, le=100)

    @model_validator(mode="after")
    def _signals(self) -> MediaMatchRequest:
        signals = MediaSignalsIn(md5=self.md5, sha256=self.sha256, pdq=self.pdq, pdq_quality=self.pdq_quality)
        _check_media_signals(self.media_type, signals, required=True)
        return self


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
