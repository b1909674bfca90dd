"""Bodies of the hash banks: protected media, matches at upload, bank entries."""

from datetime import datetime
from typing import Literal

from pydantic import (
    Field,
)

from consent_guard.models.api.base import Request, Response
from consent_guard.models.api.signals import MediaHashesRequest


class ProtectedMediaRequest(MediaHashesRequest):
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


class MediaMatchRequest(MediaHashesRequest):
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
