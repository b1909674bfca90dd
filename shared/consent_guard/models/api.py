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


class MediaItemIn(Request):
    media_id: Identifier
    media_type: MediaType


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
