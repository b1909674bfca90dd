"""Messages between functions. Ids and non-personal facts only: queues are not a place for personal data."""

# No `from __future__ import annotations` in a module of models: pydantic would eval() each field's annotation
# string when the class is created, at every cold start (~25% of the class's cost; docs/benchmarks.md, issue 18).

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from consent_guard.models.domain import NotificationKind


class Message(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class ReportSubmitted(Message):
    type: Literal["report_submitted"] = "report_submitted"
    report_id: str
    # where the report belongs, as intake stored it: lets the evaluation read the report, its case, its post and
    # the reporter in one batch. Hints only: checked against the report read (a message without them still works)
    case_id: str | None = None
    post_id: str | None = None
    reporter_id: str | None = None


class CaseReevaluation(Message):
    type: Literal["case_reevaluation"] = "case_reevaluation"
    case_id: str
    reason: str  # e.g. "post_context_updated"


class PostDeleted(Message):
    """The author deleted the post: pending cases are re-evaluated, a lock that waited for it is lifted."""

    type: Literal["post_deleted"] = "post_deleted"
    post_id: str


class ShardWork(Message):
    """One DueIndex shard for a re-review worker of its own: handed off by the scheduled run (more due than a page),
    or handed on by a worker whose time ran out, with the position to go on from (table and index keys: ids and
    times only)."""

    type: Literal["shard_work"] = "shard_work"
    shard: int = Field(ge=0)
    run: str = Field(min_length=1, max_length=64)  # the scheduled run that handed it off (its event's time)
    hop: int = Field(default=0, ge=0)  # how many workers before this one went through the shard in this run
    cursor: dict[str, dict[str, str]] | None = None


class MatchCandidate(Message):
    entry_id: str
    signal: str  # md5, sha256 or pdq
    distance: int


class MediaCandidates(Message):
    media_id: str
    candidates: list[MatchCandidate] = Field(min_length=1)


class MatchPost(Message):
    """The platform sent a post's context with media signals: the matching function checks them (no hashes here:
    it reads them from the post's stored context)."""

    type: Literal["match_post"] = "match_post"
    post_id: str


class MediaMatched(Message):
    """The matching function found bank entries close to the post's media; the evaluation re-reads each entry and
    decides. Entry ids and distances only, never hashes."""

    type: Literal["media_matched"] = "media_matched"
    post_id: str
    media: list[MediaCandidates] = Field(min_length=1)


EvaluationMessage = Annotated[
    ReportSubmitted | CaseReevaluation | PostDeleted | MediaMatched, Field(discriminator="type")
]


class NotificationRequest(Message):
    """One notification to deliver. Its id is derived from (case event, recipient, kind): redelivery is harmless."""

    notification_id: str
    kind: NotificationKind
    recipient_id: str
    case_id: str | None = None
    report_id: str | None = None
    event_id: str
    locale: str | None = None  # None: the recipient's own preference, else "en"
    facts: dict[str, str | int | bool | list[str] | None] = Field(default_factory=dict)
