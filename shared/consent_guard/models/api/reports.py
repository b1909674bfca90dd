"""Bodies of the report intake function: reports from people, context from the platform."""

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from consent_guard.models.api.base import Identifier, Locale, Request, Response
from consent_guard.models.api.signals import MediaHashesRequest
from consent_guard.models.domain import Category, Relationship


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


class MediaItemIn(MediaHashesRequest):
    """One media item of a post, with whatever hashes the platform computed (none is fine)."""

    hashes_required: ClassVar[bool] = False

    media_id: Identifier


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
