"""Domain models: what the policy reasons about and what it decides.

Pure data, no I/O. API models (models/api.py) and storage items (models/items.py) convert to and from these
explicitly; the policy engine only ever sees these.
"""

# No `from __future__ import annotations` in a module of models: pydantic would eval() each field's annotation
# string when the class is created, at every cold start (~25% of the class's cost; docs/benchmarks.md, issue 18).

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid", hide_input_in_errors=True)


class Category(StrEnum):
    """What a report says was shared. The last five are named so they can be answered: they are not private."""

    PRIVATE_MEDIA = "private_media"
    INTIMATE_MEDIA = "intimate_media"
    HOME_ADDRESS_OR_LOCATION = "home_address_or_location"
    IDENTITY_DOCUMENT = "identity_document"
    CONTACT_INFORMATION = "contact_information"
    FINANCIAL_INFORMATION = "financial_information"
    MEDICAL_OR_BIOMETRIC = "medical_or_biometric"
    THREAT_TO_EXPOSE = "threat_to_expose"
    INCENTIVE_TO_EXPOSE = "incentive_to_expose"
    EXTORTION = "extortion"
    # out of scope: not private information under the policy
    NAME = "name"
    BIRTHDATE_OR_AGE = "birthdate_or_age"
    BUSINESS_ADDRESS = "business_address"
    PLACE_OF_WORK_OR_EDUCATION = "place_of_work_or_education"
    APPEARANCE_DESCRIPTION = "appearance_description"


class Relationship(StrEnum):
    """The reporter's relationship to the person depicted or concerned."""

    SELF = "self"
    AUTHORIZED_REPRESENTATIVE = "authorized_representative"
    OTHER = "other"


class Outcome(StrEnum):
    REMOVE = "remove"
    NO_VIOLATION = "no_violation"
    NEEDS_REVIEW = "needs_review"
    AWAITING_FIRST_PERSON = "awaiting_first_person"
    NEEDS_CONTEXT = "needs_context"


class Enforcement(StrEnum):
    """In increasing order of what it costs the author (ENFORCEMENT_ORDER)."""

    NONE = "none"
    HIDE_CONTENT = "hide_content"  # post hidden, no account measure and no strike (a claim the platform can't verify)
    REQUIRE_REMOVAL = "require_removal"  # post hidden, account locked until deleted or appeal won
    PERMANENT_SUSPENSION = "permanent_suspension"


ENFORCEMENT_ORDER = {
    Enforcement.NONE: 0,
    Enforcement.HIDE_CONTENT: 1,
    Enforcement.REQUIRE_REMOVAL: 2,
    Enforcement.PERMANENT_SUSPENSION: 3,
}


class CaseState(StrEnum):
    NEEDS_CONTEXT = "needs_context"  # waiting for the platform's facts about the post
    AWAITING_FIRST_PERSON = "awaiting_first_person"  # private media reported by someone else
    IN_REVIEW = "in_review"  # a human decides
    ACTIONED = "actioned"  # removed, enforcement applied
    DISMISSED = "dismissed"  # no violation
    APPEALED = "appealed"  # a decision is being appealed
    CLOSED = "closed"  # final: nothing further happens


class EventType(StrEnum):
    REPORTED = "reported"
    EVALUATED = "evaluated"
    DECIDED = "decided"
    ESCALATED = "escalated"
    ASSIGNED = "assigned"
    COMMENTED = "commented"
    MEDIA_VIEWED = "media_viewed"  # a staff member revealed one of the post's media items (who looked, when)
    APPEALED = "appealed"
    APPEAL_DECIDED = "appeal_decided"
    ENFORCEMENT_APPLIED = "enforcement_applied"
    ENFORCEMENT_LIFTED = "enforcement_lifted"
    NOTIFIED = "notified"
    CLOSED = "closed"
    ERASED = "erased"


class ReportStatus(StrEnum):
    RECEIVED = "received"  # stored, queued for evaluation
    EVALUATED = "evaluated"  # taken into its case


class MediaType(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"


class PostSignals(Frozen):
    """Signals the platform supplies about a post; never taken from a reporter."""

    public_interest: bool = False
    harassment: bool = False
    crisis: bool = False
    eyewitness: bool = False
    community_relevance: bool = False
    public_event: bool = False
    live_location: bool = False  # the platform confirms the post shares a real-time or same-day location


class MediaSignals(Frozen):
    """Hashes the platform (or a person's device) computed from a photo or video; never the media itself.

    Sensitive: hashes of intimate images are never logged, notified, put in errors or in case events.
    """

    md5: str | None = None  # 32 hex
    sha256: str | None = None  # 64 hex
    pdq: str | None = None  # 64 hex: 256 bits
    pdq_quality: int | None = None  # 0-100; PDQ below the policy's minimum quality is not used

    def present(self) -> tuple[str, ...]:
        return tuple(name for name in ("md5", "sha256", "pdq") if getattr(self, name))


class MediaItem(Frozen):
    media_id: str
    media_type: MediaType
    signals: MediaSignals | None = None


class PostFacts(Frozen):
    post_id: str
    author_id: str
    created_at: datetime
    media: tuple[MediaItem, ...] = ()
    is_reshare: bool = False  # the author re-shared someone else's post (not the original poster)
    deleted: bool = False
    signals: PostSignals = PostSignals()


class AccountFacts(Frozen):
    account_id: str
    public_figure: bool = False
    dedicated_to_exposure: bool = False
    # set by the platform only: who the account holder is was verified (e.g. an identity check)
    identity_verified: bool = False
    # accounts the platform confirmed may report on this account's behalf (authority to represent)
    authorized_representatives: tuple[str, ...] = ()


class MediaFacts(Frozen):
    media_id: str
    publicly_available: bool = False
    mainstream_coverage: bool = False
    # accounts the platform knows are shown in the media (e.g. tagged and confirmed by the person shown)
    depicted_account_ids: tuple[str, ...] = ()


class ReporterFacts(Frozen):
    """What the platform and earlier cases say about one reporter: their standing (DSA Art. 23) and track record."""

    reporter_id: str
    account: AccountFacts | None = None
    unfounded_recent: int = 0  # reports marked manifestly unfounded within the misuse window
    warned: bool = False  # warned or suspended under Art. 23 within the window
    upheld: int = 0  # earlier first-person reports a person upheld (a moderator or appeal reviewer removed)


class Attestations(Frozen):
    """What a reporter attests. accurate_and_complete is the DSA Art. 16 good-faith statement."""

    accurate_and_complete: bool = False
    information_is_mine: bool = False
    not_published_elsewhere: bool = False
    representative_authority: bool = False


class ReportFacts(Frozen):
    """One report as the policy sees it: no description, no contact data."""

    report_id: str
    reporter_id: str
    relationship: Relationship
    attestations: Attestations
    represented_account_id: str | None = None
    live_location: bool = False  # the reporter's hint, and only while within the bound of policy.priority_hints
    trusted_flagger: bool = False
    submitted_at: datetime


class Strike(Frozen):
    case_id: str
    category: Category
    rule_id: str
    issued_at: datetime
    expires_at: datetime


class CaseFacts(Frozen):
    """Everything one evaluation decides on. `now` is an input so the engine stays pure and deterministic."""

    case_id: str
    category: Category
    reports: tuple[ReportFacts, ...] = Field(min_length=1)
    post: PostFacts | None = None  # None: the platform has not supplied the post's facts yet
    author: AccountFacts | None = None
    person_concerned: AccountFacts | None = None  # the reporter (self) or the represented account
    media: tuple[MediaFacts, ...] = ()
    author_strikes: tuple[Strike, ...] = ()
    reporters: tuple[ReporterFacts, ...] = ()  # standing and track record of the first-person reporters
    accounts: tuple[AccountFacts, ...] = ()  # platform facts of the reporters and of the accounts they represent
    now: datetime


class ExceptionCheck(Frozen):
    exception_id: str
    applies: bool
    reason: str


class Bank(StrEnum):
    REMOVED = "removed"  # media of removals under a banked category
    PROTECTED = "protected"  # registered by the person shown, never reviewed
    CLEARED = "cleared"  # found not violating: never acted on automatically


class EntryStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class BankEntry(Frozen):
    """One banked photo or video: its signals, where it came from, its status. Nothing personal: a protected
    entry's owner is kept in a separate item (repository/bank.py), erased with it."""

    entry_id: str
    bank: Bank
    status: EntryStatus = EntryStatus.ACTIVE
    category: Category
    media_type: MediaType
    signals: MediaSignals
    origin: str  # "decision", "registration" or "admin_clear"
    origin_case_id: str | None = None
    origin_decided_at: datetime | None = None
    origin_rule_ids: tuple[str, ...] = ()
    origin_entry_id: str | None = None  # admin_clear: the entry that was cleared
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None = None  # why it was disabled (appeal_overturned, or an admin's reason: staff only)
    version: int = 1


class BankMatch(Frozen):
    """An active entry the media matched, as re-read from the table, and how close it is."""

    entry: BankEntry
    signal: str  # md5, sha256 or pdq
    distance: int = Field(ge=0, le=256)  # 0 for exact hashes


class MatchRef(Frozen):
    """A match as a case keeps it, for the moderator: ids and distances, never hashes."""

    media_id: str
    entry_id: str
    bank: Bank
    signal: str
    distance: int
    origin_case_id: str | None = None
    origin_decided_at: datetime | None = None
    origin_rule_ids: tuple[str, ...] = ()


class Detection(Frozen):
    """A case consent-guard opened itself because the post's media matched a bank."""

    source: str = "automated_detection"
    matches: tuple[MatchRef, ...] = Field(min_length=1)


class Decision(Frozen):
    """An explainable decision: outcome, enforcement, and which rules fired and why."""

    outcome: Outcome
    enforcement: Enforcement = Enforcement.NONE
    issues_strike: bool = False
    rule_ids: tuple[str, ...] = Field(min_length=1)
    exceptions_considered: tuple[ExceptionCheck, ...] = ()
    # the texts: always set by the policy engine; empty only in a case read without its decision's texts item
    # (a work-queue page from the index), which never writes a decision back (repository/cases.py)
    reasons: tuple[str, ...] = ()
    statement_of_reasons: str = ""
    policy_version: str
    automated: bool = True
    review_priority: int | None = None  # 0 = highest; set for needs_review
    review_sla_hours: int | None = None


# ---------------------------------------------------------------- records the services work with


class Report(Frozen):
    """A report as stored. `description` is personal data: stored for reviewers, never logged or notified."""

    report_id: str
    case_id: str
    reporter_id: str
    post_id: str
    category: Category
    relationship: Relationship
    represented_account_id: str | None = None
    description: str = ""
    attestations: Attestations
    live_location: bool = False  # what the reporter said
    live_location_honoured: bool = True  # False: beyond the reporter's bound of priority hints (a hint, not a fact)
    trusted_flagger: bool = False
    locale: str = "en"
    status: ReportStatus = ReportStatus.RECEIVED
    submitted_at: datetime
    evaluated_at: datetime | None = None
    # retention: once set, description, reporter_id and represented_account_id are erased (see services/review.py)
    erased_at: datetime | None = None

    def facts(self) -> ReportFacts:
        return ReportFacts(
            report_id=self.report_id,
            reporter_id=self.reporter_id,
            relationship=self.relationship,
            attestations=self.attestations,
            represented_account_id=self.represented_account_id,
            live_location=self.live_location and self.live_location_honoured,
            trusted_flagger=self.trusted_flagger,
            submitted_at=self.submitted_at,
        )


class PostContext(Frozen):
    facts: PostFacts
    text: str = ""  # personal data possibly: for reviewers only
    updated_at: datetime


class AccountContext(Frozen):
    facts: AccountFacts
    contact_email: str | None = None
    locale: str = "en"
    updated_at: datetime


class Appeal(Frozen):
    """An internal complaint (DSA Art. 20) against the case's current decision."""

    appellant_id: str
    appellant_role: str  # "author" or "reporter"
    filed_at: datetime
    decision_appealed_at: datetime  # decided_at of the decision appealed: one appeal per decision
    previous_state: CaseState
    reason: str = ""  # may hold personal data: staff only, never logged or notified


class Case(Frozen):
    """The derived status of a case. Its history is the append-only list of CaseEvent."""

    case_id: str
    post_id: str
    category: Category
    state: CaseState
    version: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime
    author_id: str | None = None
    decision: Decision | None = None
    decided_at: datetime | None = None
    decided_by: str = "system"
    # the few reports that can change a decision (strongest relationship, priority flags): bounded, so a storm
    # of reports never rewrites the case once per report
    key_reports: tuple[ReportFacts, ...] = ()
    review_priority: int | None = None
    review_due_at: datetime | None = None
    queued_at: datetime | None = None  # when it entered the review queue (its age there)
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
    appeal: Appeal | None = None
    appealed_decisions: tuple[datetime, ...] = ()  # decided_at of every decision already appealed
    measures_active: tuple[str, ...] = ()  # enforcement in force: content.hide, account.lock, account.suspend
    # the one timer the case's state calls for (review_sla, first_person_wait, needs_context, retention, or a
    # scheduled action's follow-up sla_notify/close_notify); the DueIndex key is the earlier of it and the claim's
    # expiry (models/items.case_timer)
    due_kind: str | None = None
    due_at: datetime | None = None
    waiting_since: datetime | None = None  # entered needs_context / awaiting_first_person (limits count from it)
    escalated_at: datetime | None = None  # review SLA breached and escalated by the scheduled re-review (once)
    closed_at: datetime | None = None
    closed_reason: str | None = None  # e.g. insufficient_report: no report from the person depicted in time
    erased_at: datetime | None = None  # personal data of its reports erased after the retention period
    detection: Detection | None = None  # opened by hash matching (no report started it)
    bank_entries: tuple[str, ...] = ()  # bank entries this case's decision wrote (disabled if overturned)

    def claimed_by_other(self, subject: str, now: datetime) -> bool:
        return bool(
            self.claimed_by and self.claimed_by != subject and self.claim_expires_at and self.claim_expires_at > now
        )


class CaseEvent(Frozen):
    case_id: str
    seq: int = Field(ge=1)
    type: EventType
    at: datetime
    actor: str  # "system", a moderator's id, or "platform"
    data: dict[str, object] = Field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return f"{self.case_id}:{self.seq}"


class NotificationKind(StrEnum):
    RECEIPT = "receipt"  # reporter: we have your report
    OUTCOME = "outcome"  # reporter: what was decided and how to appeal
    AWAITING_FIRST_PERSON = "awaiting_first_person"  # reporter: the person depicted needs to report
    STATEMENT_OF_REASONS = "statement_of_reasons"  # author: the measure and why (DSA Art. 17)
    LOCK_LIFTED = "lock_lifted"  # author
    APPEAL_OUTCOME = "appeal_outcome"  # author or reporter
    SLA_BREACH = "sla_breach"  # moderators (recipient group:moderators)
    REPORTING_WARNING = "reporting_warning"  # reporter: repeated manifestly unfounded reports (DSA Art. 23)
    REPORTING_SUSPENDED = "reporting_suspended"  # reporter: reports not processed for a period
    CASE_CLOSED = "case_closed"  # reporter: the case was closed without action (e.g. no first-person report)
    PROTECTED_MEDIA_MATCHED = "protected_media_matched"  # a person: an upload matched media they protected


class EmailStatus(StrEnum):
    NONE = "none"  # no address known: in-app only
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Notification(Frozen):
    notification_id: str
    recipient_id: str
    kind: NotificationKind
    locale: str = "en"
    subject: str
    body: str
    case_id: str | None = None
    report_id: str | None = None
    created_at: datetime
    email_status: EmailStatus = EmailStatus.NONE
    attempts: int = 0
    expires_at: datetime | None = None  # removed by the table's TTL then (the policy's retention)
