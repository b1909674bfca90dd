"""The policy document: strict models of private_information.json and its cached loader.

The document is checked as a whole at load (coverage of every category, unique ids, placeholders), so the engine can
look rules up without defensive code, and a policy edit that the engine could not honour fails before deployment.
"""

# No `from __future__ import annotations` in a module of models: pydantic would eval() each field's annotation
# string when the class is created, at every cold start (~25% of the class's cost; docs/benchmarks.md, issue 18).

import functools
import string
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from consent_guard.models.domain import Bank, Category, Enforcement, Outcome
from consent_guard.policy.transparency import TransparencyMapping

POLICY_FILE = Path(__file__).with_name("private_information.json")


class Doc(BaseModel):
    model_config = ConfigDict(defer_build=True, strict=True, extra="forbid", frozen=True)


ProvisionId = Annotated[str, Field(pattern=r"^PIM-[A-Z]?[0-9]+$")]
Text = Annotated[str, Field(min_length=1)]


class CategoryKind(StrEnum):
    MEDIA = "media"
    INFORMATION = "information"
    CONDUCT = "conduct"


class RuleTrigger(StrEnum):
    """The situations the engine recognises; each (trigger, category) pair it can reach is decided by one rule."""

    NOT_PRIVATE = "not_private"
    POST_FACTS_MISSING = "post_facts_missing"
    THIRD_PARTY_ONLY = "third_party_only"
    ATTESTATIONS_MISSING = "attestations_missing"
    MEDIA_MISSING = "media_missing"
    HARASSMENT_OVERRIDE = "harassment_override"
    WEIGHING_FACTORS = "weighing_factors"
    VIOLATION = "violation"
    # a post's media matched a hash bank (categories with `banked`)
    BANK_MATCH_REMOVED = "bank_match_removed"
    BANK_MATCH_NEAR = "bank_match_near"
    BANK_MATCH_PROTECTED = "bank_match_protected"
    BANK_MATCH_CLEARED = "bank_match_cleared"


BANK_MATCH_TRIGGERS = frozenset(
    {
        RuleTrigger.BANK_MATCH_REMOVED,
        RuleTrigger.BANK_MATCH_NEAR,
        RuleTrigger.BANK_MATCH_PROTECTED,
        RuleTrigger.BANK_MATCH_CLEARED,
    }
)


class ExceptionKey(StrEnum):
    PUBLIC_FIGURE = "public_figure"  # public figure, post in the public interest
    PUBLIC_INTEREST = "public_interest"  # private individual, post in the public interest


class WeighingKey(StrEnum):
    PUBLICLY_AVAILABLE = "publicly_available"
    MAINSTREAM_COVERAGE = "mainstream_coverage"
    CRISIS = "crisis"
    EYEWITNESS = "eyewitness"
    COMMUNITY_RELEVANCE = "community_relevance"
    PUBLIC_EVENT = "public_event"


class AutomationKey(StrEnum):
    """How far an automated decision may go, by what the claim behind it can bear."""

    SELF_DECLARED = "self_declared"  # the reporter's own statement: the post may be hidden, nothing more
    VERIFIED_CLAIM = "verified_claim"  # the platform confirmed who reports and that it is about them
    GOOD_STANDING = "good_standing"  # earlier first-person reports upheld by a person
    PERMANENT_SUSPENSION = "permanent_suspension"  # only a person suspends
    REPRESENTATIVE_UNCONFIRMED = "representative_unconfirmed"  # authority to represent not confirmed
    LOW_STANDING = "low_standing"  # manifestly unfounded reports recently (DSA Art. 23)


class CategorySpec(Doc):
    id: Category
    label: Text
    description: Text
    in_scope: bool
    kind: CategoryKind
    attestations_required: bool = False  # a self/representative report must carry its confirmations to act on
    requires_media: bool = False  # the post must list a photo or video to act on automatically
    exceptions_apply: bool = False  # the exceptions and weighing factors are weighed
    banked: bool = False  # the media of a removal is banked, and uploads matching the banks open cases


class Rule(Doc):
    id: ProvisionId
    trigger: RuleTrigger
    categories: tuple[Category, ...] = Field(min_length=1)
    title: Text
    explanation: Text
    outcome: Outcome | None  # None: the rule qualifies others (the harassment override)


class PolicyException(Doc):
    id: ProvisionId
    key: ExceptionKey
    title: Text
    explanation: Text
    outcome: Outcome  # what follows when it applies
    overridden_by_harassment: bool


class WeighingFactor(Doc):
    id: ProvisionId
    key: WeighingKey
    title: Text
    explanation: Text


class AutomationProvision(Doc):
    """Either a ceiling on what an automated decision resting on such a claim may enforce, or an outcome that sends
    the case to a person instead (optionally hiding the post meanwhile)."""

    id: ProvisionId
    key: AutomationKey
    title: Text
    explanation: Text
    max_enforcement: Enforcement | None = None
    outcome: Outcome | None = None
    hide_content: bool = False


class ReporterStanding(Doc):
    good_after_upheld: PositiveInt  # upheld first-person reports (and none unfounded) for a good track record
    low_after_unfounded: PositiveInt  # manifestly unfounded reports within reporter_misuse.window_days


class PriorityHints(Doc):
    """Priority flags a reporter sets are hints: at most this many of one reporter's cases are moved up per window."""

    max_cases_per_reporter: PositiveInt
    window_hours: PositiveInt


class RungConditions(Doc):
    """All given conditions must hold; none given matches every violation."""

    categories: tuple[Category, ...] | None = None
    account_dedicated_to_exposure: bool | None = None
    original_poster: bool | None = None
    active_strike: bool | None = None


class LadderRung(Doc):
    id: ProvisionId
    title: Text
    explanation: Text
    when: RungConditions = RungConditions()
    enforcement: Enforcement
    issues_strike: bool


class ReviewConditions(Doc):
    """All given conditions must hold; none given matches every review."""

    categories: tuple[Category, ...] | None = None
    live_location: bool | None = None  # a reporter says the location is live (a hint, bounded per reporter)
    live_location_confirmed: bool | None = None  # the platform's post signal says so
    trusted_flagger: bool | None = None  # any report comes from a trusted flagger


class ReviewTier(Doc):
    title: Text
    when: ReviewConditions = ReviewConditions()
    priority: int = Field(ge=0)
    sla_hours: PositiveInt


class ReporterQuota(Doc):
    max_reports: PositiveInt
    window_seconds: PositiveInt


class ReporterMisuse(Doc):
    """EU DSA Art. 23: reporters whose notices are repeatedly manifestly unfounded are warned, then suspended."""

    window_days: PositiveInt  # unfounded reports counted over this period
    warn_after: PositiveInt
    suspend_after: PositiveInt
    suspension_days: PositiveInt


class BankSpec(Doc):
    id: Bank
    title: Text
    explanation: Text


class ProtectedQuota(Doc):
    max_registrations: PositiveInt
    window_seconds: PositiveInt


# the statement's match sentence may use these names (filled per decision, never with hashes or ids)
MATCH_FIELDS = frozenset({"signal", "origin_decided_at", "origin_rules", "distance", "pdq_strict_distance"})


class HashMatching(Doc):
    """Thresholds and banks of hash matching. PDQ distances are Hamming distances of 256-bit hashes."""

    pdq_strict_distance: int = Field(ge=0, le=31)  # at or below: removed media is removed again automatically
    pdq_review_distance: int = Field(ge=0, le=31)  # at or below: a match at all (the index is exact up to 31)
    pdq_min_quality: int = Field(ge=0, le=100)  # PDQ hashes of lower quality are not used
    protected_max_per_person: PositiveInt
    protected_quota: ProtectedQuota
    banks: tuple[BankSpec, ...]
    matched_statement: Text

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.pdq_strict_distance > self.pdq_review_distance:
            raise ValueError("the strict PDQ distance cannot exceed the review distance")
        if {b.id for b in self.banks} != set(Bank) or len(self.banks) != len(Bank):
            raise ValueError("every bank is described exactly once")
        names = {name for _, name, _, _ in string.Formatter().parse(self.matched_statement) if name is not None}
        if unknown := names - MATCH_FIELDS:
            raise ValueError(f"matched_statement: unknown placeholders {sorted(unknown)}")
        return self


class OutcomeNotice(Doc):
    outcome: Outcome
    description: Text
    final: bool  # final outcomes can be appealed; the others say a decision is still to come


class Notices(Doc):
    """Text of the statement of reasons that does not belong to one rule."""

    outcomes: tuple[OutcomeNotice, ...]
    enforcement: dict[Enforcement, Text]
    strike: Text
    automated: Text
    human: Text  # in place of `automated` when a moderator or appeal reviewer decided
    appeal: Text
    interim: Text
    hidden_pending_review: Text  # in place of the needs_review text when the post is hidden meanwhile


def _required_triggers(spec: CategorySpec) -> set[RuleTrigger]:
    """The situations the engine can reach for a category; each needs exactly one rule, and no other rule may exist."""
    if not spec.in_scope:
        return {RuleTrigger.NOT_PRIVATE}
    needed = {RuleTrigger.POST_FACTS_MISSING, RuleTrigger.THIRD_PARTY_ONLY, RuleTrigger.VIOLATION}
    if spec.attestations_required:
        needed.add(RuleTrigger.ATTESTATIONS_MISSING)
    if spec.requires_media:
        needed.add(RuleTrigger.MEDIA_MISSING)
    if spec.exceptions_apply:
        needed |= {RuleTrigger.HARASSMENT_OVERRIDE, RuleTrigger.WEIGHING_FACTORS}
    if spec.banked:
        needed |= BANK_MATCH_TRIGGERS
    return needed


# decided before the post's facts are looked at
_BEFORE_POST_FACTS = frozenset({RuleTrigger.NOT_PRIVATE, RuleTrigger.POST_FACTS_MISSING})

_KIND_OF: dict[type[Doc], str] = {
    Rule: "Rule",
    PolicyException: "Exception",
    WeighingFactor: "Weighing factor",
    LadderRung: "Enforcement rule",
    AutomationProvision: "Automation rule",
}


def _unique(values: list[str], what: str) -> None:
    if dupes := sorted(v for v, n in Counter(values).items() if n > 1):
        raise ValueError(f"duplicate {what}: {', '.join(dupes)}")


class PolicyIndex:
    """Consistency checks and derived lookups of one Policy (built once, when the Policy is validated)."""

    __slots__ = (
        "appeal_text",
        "automated_text",
        "automation",
        "bank_texts",
        "banked_categories",
        "categories",
        "content_ids",
        "enforcement_texts",
        "final_outcomes",
        "headings",
        "hidden_pending_review_text",
        "human_text",
        "in_scope_categories",
        "interim_text",
        "outcome_texts",
        "provision_ids",
        "rules",
        "statements",
        "strike_text",
        "texts",
    )

    def __init__(self, policy: "Policy") -> None:
        self.categories = {spec.id: spec for spec in policy.categories}
        _unique([spec.id for spec in policy.categories], "categories")
        missing = [c.value for c in Category if c not in self.categories]
        if missing:
            raise ValueError(f"categories missing from the policy: {', '.join(missing)}")
        for spec in policy.categories:
            if spec.exceptions_apply and spec.kind is not CategoryKind.MEDIA:
                raise ValueError(f"{spec.id}: exceptions and weighing factors are defined for media only")
            if not spec.in_scope and (spec.attestations_required or spec.requires_media or spec.exceptions_apply):
                raise ValueError(f"{spec.id}: an out-of-scope category cannot carry handling flags")
            if spec.banked and spec.kind is not CategoryKind.MEDIA:
                raise ValueError(f"{spec.id}: only media categories are banked")
        self.banked_categories = frozenset(spec.id for spec in policy.categories if spec.banked)
        self.in_scope_categories = frozenset(spec.id for spec in policy.categories if spec.in_scope)

        provisions: list[Rule | PolicyException | WeighingFactor | LadderRung | AutomationProvision] = [
            *policy.rules,
            *policy.exceptions,
            *policy.weighing_factors,
            *policy.enforcement_ladder,
            *policy.automation,
        ]
        _unique([p.id for p in provisions], "provision ids")
        _unique([e.key for e in policy.exceptions], "exception keys")
        _unique([w.key for w in policy.weighing_factors], "weighing factor keys")
        self.provision_ids = frozenset(p.id for p in provisions)
        # what a reporter may be told: the rules about the content, never the ladder or the automation rules (they
        # speak of the author's account and history)
        self.content_ids = frozenset(
            [r.id for r in policy.rules] + [e.id for e in policy.exceptions] + [w.id for w in policy.weighing_factors]
        )

        _unique([a.key for a in policy.automation], "automation keys")
        self.automation = {a.key: a for a in policy.automation}
        if missing_keys := [k.value for k in AutomationKey if k not in self.automation]:
            raise ValueError(f"automation rules missing: {', '.join(missing_keys)}")
        for a in policy.automation:
            if (a.max_enforcement is None) == (a.outcome is None):
                raise ValueError(f"{a.id}: an automation rule sets either max_enforcement or an outcome")
            if a.max_enforcement is Enforcement.PERMANENT_SUSPENSION:
                raise ValueError(f"{a.id}: automation may never suspend an account")
            if a.outcome is not None and a.outcome is not Outcome.NEEDS_REVIEW:
                raise ValueError(f"{a.id}: an automation rule can only send a case to a person")
        if self.automation[AutomationKey.SELF_DECLARED].max_enforcement is not Enforcement.HIDE_CONTENT:
            raise ValueError("a self-declared claim may at most hide the post")

        self.rules: dict[tuple[RuleTrigger, Category], Rule] = {}
        for rule in policy.rules:
            if (rule.outcome is None) != (rule.trigger is RuleTrigger.HARASSMENT_OVERRIDE):
                raise ValueError(f"{rule.id}: only the harassment override has no outcome of its own")
            if rule.outcome is Outcome.REMOVE and rule.trigger in _BEFORE_POST_FACTS:
                raise ValueError(f"{rule.id}: cannot remove a post whose facts it has not seen")
            for category in rule.categories:
                if (rule.trigger, category) in self.rules:
                    raise ValueError(f"{rule.id}: {rule.trigger} for {category} is already decided by another rule")
                self.rules[rule.trigger, category] = rule
        expected = {(t, spec.id) for spec in policy.categories for t in _required_triggers(spec)}
        if missing_pairs := expected - self.rules.keys():
            raise ValueError(f"no rule for: {_pairs(missing_pairs)}")
        if unreachable := self.rules.keys() - expected:
            raise ValueError(f"rules the engine can never apply: {_pairs(unreachable)}")

        if policy.enforcement_ladder[-1].when != RungConditions():
            raise ValueError("the last enforcement rung must match every violation")
        if any(rung.enforcement is Enforcement.NONE for rung in policy.enforcement_ladder):
            raise ValueError("an enforcement rung must enforce something")
        if policy.review_priorities[-1].when != ReviewConditions():
            raise ValueError("the last review tier must match every review")
        policy.transparency_database.check_against(policy)

        notices = policy.notices
        _unique([n.outcome for n in notices.outcomes], "outcome notices")
        if missing := [o.value for o in Outcome if o not in {n.outcome for n in notices.outcomes}]:
            raise ValueError(f"outcomes without a notice: {', '.join(missing)}")
        if missing := [r.id for r in policy.enforcement_ladder if r.enforcement not in notices.enforcement]:
            raise ValueError(f"rungs whose enforcement has no notice: {', '.join(missing)}")

        # policy text with its {placeholders} filled in, ready for statements and the markdown
        values = policy.placeholders()
        self.texts = {p.id: _fill(p.explanation, values, p.id) for p in provisions}
        self.headings = {p.id: f"{_KIND_OF[type(p)]} {p.id} ({p.title})" for p in provisions}
        self.outcome_texts = {n.outcome: _fill(n.description, values, n.outcome) for n in notices.outcomes}
        self.final_outcomes = frozenset(n.outcome for n in notices.outcomes if n.final)
        self.enforcement_texts = {e: _fill(t, values, e) for e, t in notices.enforcement.items()}
        self.strike_text = _fill(notices.strike, values, "strike")
        self.automated_text = _fill(notices.automated, values, "automated")
        self.human_text = _fill(notices.human, values, "human")
        self.appeal_text = _fill(notices.appeal, values, "appeal")
        self.interim_text = _fill(notices.interim, values, "interim")
        self.hidden_pending_review_text = _fill(notices.hidden_pending_review, values, "hidden_pending_review")
        self.bank_texts = {b.id: _fill(b.explanation, values, b.id) for b in policy.hash_matching.banks}
        # a statement depends only on (category, rule ids, outcome, enforcement, strike): each is built once
        self.statements: dict[tuple[Category, tuple[str, ...], Outcome, Enforcement, bool, bool, bool], str] = {}

    def rule(self, trigger: RuleTrigger, category: Category) -> Rule:
        return self.rules[trigger, category]


def _pairs(pairs: set[tuple[RuleTrigger, Category]]) -> str:
    return ", ".join(sorted(f"{trigger}/{category}" for trigger, category in pairs))


def _fill(text: str, values: dict[str, int], where: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    if unknown := names - values.keys():
        raise ValueError(f"{where}: unknown placeholders {sorted(unknown)} (known: {sorted(values)})")
    return text.format_map(values)


class Policy(Doc):
    version: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}\.\d+$")]
    title: Text
    categories: tuple[CategorySpec, ...]
    rules: tuple[Rule, ...]
    exceptions: tuple[PolicyException, ...]
    weighing_factors: tuple[WeighingFactor, ...]
    automation: tuple[AutomationProvision, ...] = Field(min_length=1)
    reporter_standing: ReporterStanding
    priority_hints: PriorityHints
    enforcement_ladder: tuple[LadderRung, ...] = Field(min_length=1)
    review_priorities: tuple[ReviewTier, ...] = Field(min_length=1)
    strike_expiry_days: PositiveInt
    first_person_wait_days: PositiveInt
    needs_context_limit_hours: PositiveInt
    appeal_window_days: int = Field(ge=183)  # DSA Art. 20: complaints open for at least six months
    retention_days_after_appeal_window: PositiveInt
    reporter_quota: ReporterQuota
    reporter_misuse: ReporterMisuse
    claim_minutes: PositiveInt
    hash_matching: HashMatching
    notices: Notices
    transparency_database: TransparencyMapping  # DSA Art. 24(5): how a restricting decision is reported

    @model_validator(mode="after")
    def _check_and_index(self) -> Self:
        _ = self.index  # checks the document as a whole, at load
        return self

    @functools.cached_property
    def index(self) -> PolicyIndex:
        """Lookups derived once, so the engine never scans or re-validates the document per decision.

        A cached property, not a private attribute, so that equal documents compare equal.
        """
        return PolicyIndex(self)

    def placeholders(self) -> dict[str, int]:
        """Numbers that policy text may quote as `{name}`, so the text cannot drift from the data."""
        return {
            "strike_expiry_days": self.strike_expiry_days,
            "first_person_wait_days": self.first_person_wait_days,
            "needs_context_limit_hours": self.needs_context_limit_hours,
            "appeal_window_days": self.appeal_window_days,
            "retention_days_after_appeal_window": self.retention_days_after_appeal_window,
            "claim_minutes": self.claim_minutes,
            "good_after_upheld": self.reporter_standing.good_after_upheld,
            "misuse_window_days": self.reporter_misuse.window_days,
            "pdq_strict_distance": self.hash_matching.pdq_strict_distance,
            "pdq_review_distance": self.hash_matching.pdq_review_distance,
            "pdq_min_quality": self.hash_matching.pdq_min_quality,
            "protected_max_per_person": self.hash_matching.protected_max_per_person,
            "protected_max_registrations": self.hash_matching.protected_quota.max_registrations,
            "protected_window_hours": self.hash_matching.protected_quota.window_seconds // 3600,
        }


@functools.cache
def load_policy() -> Policy:
    """The deployed policy, read and validated once per process (stdlib json via pydantic: cheap at cold start)."""
    return Policy.model_validate_json(POLICY_FILE.read_bytes())
