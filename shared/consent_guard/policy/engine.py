"""The policy engine: pure functions from CaseFacts to an explainable Decision.

No boto3, no I/O, no clock, no randomness: `now` arrives in the facts and every rule, exception, rung, tier and text
comes from the policy document. The code holds only the order in which situations are recognised.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, assert_never

from pydantic import Field

from consent_guard.models.domain import (
    ENFORCEMENT_ORDER,
    AccountFacts,
    Attestations,
    Bank,
    BankMatch,
    CaseFacts,
    Category,
    Decision,
    Enforcement,
    EntryStatus,
    ExceptionCheck,
    Frozen,
    MediaFacts,
    Outcome,
    PostFacts,
    Relationship,
    ReporterFacts,
    ReportFacts,
    Strike,
)
from consent_guard.policy.document import (
    BANK_MATCH_TRIGGERS,
    AutomationKey,
    AutomationProvision,
    CategoryKind,
    CategorySpec,
    ExceptionKey,
    Policy,
    PolicyException,
    PolicyIndex,
    Rule,
    RuleTrigger,
    WeighingFactor,
    WeighingKey,
    load_policy,
)


class EnforcementDecision(Frozen):
    """What an upheld violation costs the author, and the ladder rung that says so."""

    enforcement: Enforcement
    issues_strike: bool
    rule_ids: tuple[str, ...] = Field(min_length=1)
    reasons: tuple[str, ...] = Field(min_length=1)


def active_strikes(
    strikes: Iterable[Strike], now: datetime, *, exclude_case_id: str | None = None
) -> tuple[Strike, ...]:
    """Strikes in force at `now`; those of `exclude_case_id` are left out so re-deciding a case cannot escalate it."""
    return tuple(s for s in strikes if s.issued_at <= now < s.expires_at and s.case_id != exclude_case_id)


def decide_enforcement(
    category: Category,
    post: PostFacts,
    author: AccountFacts | None,
    author_strikes: Iterable[Strike],
    now: datetime,
    policy: Policy | None = None,
    *,
    case_id: str | None = None,
) -> EnforcementDecision:
    """Walk the enforcement ladder for an upheld violation; the first rung whose conditions all hold decides.

    Also used for moderators' decisions. An author without account facts is not treated as dedicated to exposure.
    """
    policy = load_policy() if policy is None else policy
    if category not in policy.index.in_scope_categories:
        raise ValueError(f"{category} is not private information under the policy: there is nothing to enforce")
    in_force = active_strikes(author_strikes, now, exclude_case_id=case_id)
    dedicated = author is not None and author.dedicated_to_exposure
    original = not post.is_reshare
    rung = next(
        r
        for r in policy.enforcement_ladder
        if (r.when.categories is None or category in r.when.categories)
        and (r.when.account_dedicated_to_exposure is None or r.when.account_dedicated_to_exposure == dedicated)
        and (r.when.original_poster is None or r.when.original_poster == original)
        and (r.when.active_strike is None or r.when.active_strike == bool(in_force))
    )
    return EnforcementDecision(
        enforcement=rung.enforcement,
        issues_strike=rung.issues_strike,
        rule_ids=(rung.id,),
        reasons=(
            f"{rung.id} {rung.title}: {rung.enforcement.value}",
            f"author: {'dedicated' if dedicated else 'not known as dedicated'} to exposure, "
            f"{'original poster' if original else 're-sharer'}, {len(in_force)} active strike(s)",
        ),
    )


def review_priority(facts: CaseFacts, policy: Policy | None = None) -> tuple[int, int]:
    """(priority, SLA hours) of a case a moderator must review: the first matching tier, 0 being the most urgent."""
    policy = load_policy() if policy is None else policy
    live = any(r.live_location for r in facts.reports)  # a reporter's hint, already bounded per reporter
    confirmed = facts.post is not None and facts.post.signals.live_location
    trusted = any(r.trusted_flagger for r in facts.reports)
    return _review_tier(policy, facts.category, live, trusted, confirmed)


def _review_tier(
    policy: Policy, category: Category, live: bool, trusted: bool, confirmed: bool = False
) -> tuple[int, int]:
    tier = next(
        t
        for t in policy.review_priorities
        if (t.when.categories is None or category in t.when.categories)
        and (t.when.live_location is None or t.when.live_location == live)
        and (t.when.live_location_confirmed is None or t.when.live_location_confirmed == confirmed)
        and (t.when.trusted_flagger is None or t.when.trusted_flagger == trusted)
    )
    return tier.priority, tier.sla_hours


def evaluate_case(facts: CaseFacts, policy: Policy | None = None) -> Decision:
    """Decide a case automatically, explaining which rules fired, which exceptions were weighed and why."""
    policy = load_policy() if policy is None else policy
    index = policy.index
    spec = index.categories[facts.category]
    if not spec.in_scope:
        rule = index.rule(RuleTrigger.NOT_PRIVATE, spec.id)
        return _decide(policy, facts, spec, rule, (), [f"{spec.label} is not private information under the policy"])
    post = facts.post
    if post is None:
        rule = index.rule(RuleTrigger.POST_FACTS_MISSING, spec.id)
        return _decide(policy, facts, spec, rule, (), ["the platform has not supplied the reported post's facts yet"])

    strongest, first_person = _standing(facts.reports)
    reasons = [
        f"reported category: {spec.label} ({spec.kind.value})",
        f"strongest reporter relationship: {strongest.value}; "
        f"first-person report with its confirmations: {'yes' if first_person else 'no'}",
    ]
    weighed = _weigh(spec, post, facts, policy) if spec.kind is CategoryKind.MEDIA else _NOT_WEIGHED

    def decided_by(trigger: RuleTrigger, why: str) -> Decision:
        reasons.append(why)
        rule = index.rule(trigger, spec.id)
        return _decide(policy, facts, spec, rule, weighed.checks, reasons)

    if not first_person and strongest is Relationship.OTHER:
        return decided_by(RuleTrigger.THIRD_PARTY_ONLY, "only people other than the person concerned reported it")
    if not first_person and spec.attestations_required:
        return decided_by(RuleTrigger.ATTESTATIONS_MISSING, "the first-person report lacks its confirmations")

    # what the claim behind the case can bear: the platform's confirmations and the reporter's standing
    assurance = claim_assurance(facts, spec, policy)
    provision = index.automation[assurance]
    reasons.append(f"{provision.id}: the claim is {assurance.value.replace('_', ' ')}")
    if provision.outcome is not None:
        return _decide(policy, facts, spec, provision, weighed.checks, reasons)
    if spec.requires_media and not post.media:
        return decided_by(RuleTrigger.MEDIA_MISSING, "the post lists no photo or video")

    # From here on the exceptions stage was reached, so a harassment override is part of the explanation.
    also: tuple[str, ...] = ()
    if weighed.overridden:
        override = index.rule(RuleTrigger.HARASSMENT_OVERRIDE, spec.id)
        also = (override.id,)
        reasons.append(
            f"{override.id}: the post is marked as harassment, so the public-interest exceptions do not apply"
        )
    decider: Rule | PolicyException
    if weighed.factors:
        reasons.append(f"weighing factors present: {', '.join(f.id for f in weighed.factors)}")
        if weighed.applying is not None:
            reasons.append(f"exception {weighed.applying.id} applies too, but weighed cases are not kept automatically")
        decider = index.rule(RuleTrigger.WEIGHING_FACTORS, spec.id)
    elif weighed.applying is not None:
        reasons.append(f"exception {weighed.applying.id} applies: {weighed.applying.title}")
        decider = weighed.applying
    else:
        reasons.append("no exception or weighing factor applies" if spec.exceptions_apply else "no exception applies")
        decider = index.rule(RuleTrigger.VIOLATION, spec.id)
    return _decide(policy, facts, spec, decider, weighed.checks, reasons, also, assurance)


_ASSURANCE_RANK = {
    AutomationKey.VERIFIED_CLAIM: 5,
    AutomationKey.GOOD_STANDING: 4,
    AutomationKey.SELF_DECLARED: 3,
    AutomationKey.LOW_STANDING: 2,
    AutomationKey.REPRESENTATIVE_UNCONFIRMED: 1,
}


def claim_assurance(facts: CaseFacts, spec: CategorySpec, policy: Policy) -> AutomationKey:
    """How far automation may rely on the strongest first-person report of the case.

    Verified: the platform confirmed the reporter's identity (self) or the representative's authority, and, for
    media, that the person concerned is an account shown in it. Otherwise the claim is self-declared, raised by a
    good track record or lowered by recent manifestly unfounded reports; an unconfirmed representative acts on
    nothing automatically.
    """
    accounts = {a.account_id: a for a in facts.accounts}
    reporters = {r.reporter_id: r for r in facts.reporters}
    media_people = {person for m in facts.media for person in m.depicted_account_ids}
    standing = policy.reporter_standing
    best = AutomationKey.SELF_DECLARED
    candidates = [
        r
        for r in facts.reports
        if r.relationship is not Relationship.OTHER and (not spec.attestations_required or _is_first_person(r))
    ]
    for index, report in enumerate(candidates):
        reporter = reporters.get(report.reporter_id, ReporterFacts(reporter_id=report.reporter_id))
        own = accounts.get(report.reporter_id)
        if report.relationship is Relationship.AUTHORIZED_REPRESENTATIVE:
            subject = report.represented_account_id or ""
            concerned = accounts.get(subject)
            authority = concerned is not None and report.reporter_id in concerned.authorized_representatives
        else:
            subject = report.reporter_id
            authority = own is not None and own.identity_verified
        shown = spec.kind is not CategoryKind.MEDIA or subject in media_people
        level: AutomationKey
        if report.relationship is Relationship.AUTHORIZED_REPRESENTATIVE and not authority:
            level = AutomationKey.REPRESENTATIVE_UNCONFIRMED
        elif authority and shown:
            level = AutomationKey.VERIFIED_CLAIM
        elif reporter.warned or reporter.unfounded_recent >= standing.low_after_unfounded:
            level = AutomationKey.LOW_STANDING
        elif reporter.upheld >= standing.good_after_upheld:
            level = AutomationKey.GOOD_STANDING
        else:
            level = AutomationKey.SELF_DECLARED
        if index == 0 or _ASSURANCE_RANK[level] > _ASSURANCE_RANK[best]:
            best = level
    return best


_STRENGTH = {Relationship.OTHER: 0, Relationship.AUTHORIZED_REPRESENTATIVE: 1, Relationship.SELF: 2}


def _is_first_person(report: ReportFacts) -> bool:
    attested = report.attestations
    match report.relationship:
        case Relationship.SELF:
            return attested.information_is_mine and attested.not_published_elsewhere
        case Relationship.AUTHORIZED_REPRESENTATIVE:
            return attested.representative_authority and report.represented_account_id is not None
        case Relationship.OTHER:
            return False
        case unreachable:
            assert_never(unreachable)


def _standing(reports: tuple[ReportFacts, ...]) -> tuple[Relationship, bool]:
    """The strongest relationship among the reports, and whether any of them is a complete first-person report."""
    strongest = max((r.relationship for r in reports), key=_STRENGTH.__getitem__)
    return strongest, any(_is_first_person(r) for r in reports)


class _Weighed(NamedTuple):
    checks: tuple[ExceptionCheck, ...]
    applying: PolicyException | None  # the first exception that applies, in document order
    overridden: bool  # harassment stopped an exception whose conditions were met
    factors: tuple[WeighingFactor, ...]  # weighing factors present


_NOT_WEIGHED = _Weighed((), None, False, ())


@functools.lru_cache(maxsize=512)
def _check(provision_id: str, applies: bool, reason: str) -> ExceptionCheck:
    # the set of distinct checks is small and they are immutable: build each once
    return ExceptionCheck(exception_id=provision_id, applies=applies, reason=reason)


def _exception_conditions(key: ExceptionKey, public_figure: bool, public_interest: bool) -> tuple[bool, str]:
    if not public_interest:
        return False, "the post is not marked as shared in the public interest"
    match key:
        case ExceptionKey.PUBLIC_FIGURE:
            if public_figure:
                return True, "a public figure, in a post shared in the public interest"
            return False, "the person concerned is not known to be a public figure"
        case ExceptionKey.PUBLIC_INTEREST:
            if public_figure:
                return False, "the person concerned is a public figure: the public-figure exception is the one to weigh"
            return True, "a private individual, in a post shared in the public interest: a moderator weighs it"
        case unreachable:
            assert_never(unreachable)


def _factor_present(key: WeighingKey, post: PostFacts, media: tuple[MediaFacts, ...]) -> bool:
    match key:
        case WeighingKey.PUBLICLY_AVAILABLE:
            return any(m.publicly_available for m in media)
        case WeighingKey.MAINSTREAM_COVERAGE:
            return any(m.mainstream_coverage for m in media)
        case WeighingKey.CRISIS:
            return post.signals.crisis
        case WeighingKey.EYEWITNESS:
            return post.signals.eyewitness
        case WeighingKey.COMMUNITY_RELEVANCE:
            return post.signals.community_relevance
        case WeighingKey.PUBLIC_EVENT:
            return post.signals.public_event
        case unreachable:
            assert_never(unreachable)


def _weigh(spec: CategorySpec, post: PostFacts, facts: CaseFacts, policy: Policy) -> _Weighed:
    """Every exception and weighing factor of the policy, checked against the post (media categories only)."""
    policy_exceptions, factors = policy.exceptions, policy.weighing_factors
    if not spec.exceptions_apply:
        reason = f"not applicable: {spec.label.lower()} has no exceptions and nothing is weighed against it"
        ids = [e.id for e in policy_exceptions] + [f.id for f in factors]
        return _Weighed(tuple(_check(i, False, reason) for i in ids), None, False, ())

    signals = post.signals
    public_figure = facts.person_concerned is not None and facts.person_concerned.public_figure
    checks: list[ExceptionCheck] = []
    applying: PolicyException | None = None
    overridden = False
    for exc in policy_exceptions:
        met, reason = _exception_conditions(exc.key, public_figure, signals.public_interest)
        if met and signals.harassment and exc.overridden_by_harassment:
            overridden = True
            met, reason = False, "its conditions are met, but the post is marked as harassment"
        checks.append(_check(exc.id, met, reason))
        if met and applying is None:
            applying = exc
    present: list[WeighingFactor] = []
    for factor in factors:
        found = _factor_present(factor.key, post, facts.media)
        checks.append(_check(factor.id, found, "present: a moderator weighs it" if found else "not present"))
        if found:
            present.append(factor)
    return _Weighed(tuple(checks), applying, overridden, tuple(present))


def _decide(
    policy: Policy,
    facts: CaseFacts,
    spec: CategorySpec,
    decided_by: Rule | PolicyException | AutomationProvision,
    checks: tuple[ExceptionCheck, ...],
    reasons: list[str],
    also: tuple[str, ...] = (),
    assurance: AutomationKey = AutomationKey.SELF_DECLARED,
) -> Decision:
    outcome = decided_by.outcome
    assert outcome is not None, "the document guarantees that deciding rules have an outcome"
    rule_ids = (decided_by.id, *also)
    enforcement, issues_strike = Enforcement.NONE, False
    if outcome is Outcome.REMOVE:
        assert facts.post is not None, "the document guarantees no removal before the post's facts are seen"
        enforced = decide_enforcement(
            spec.id, facts.post, facts.author, facts.author_strikes, facts.now, policy, case_id=facts.case_id
        )
        automation = policy.index.automation
        ceiling = automation[assurance]
        assert ceiling.max_enforcement is not None
        if enforced.enforcement is Enforcement.PERMANENT_SUSPENSION:
            # only a person suspends: the case goes to a moderator, the post hidden meanwhile
            person = automation[AutomationKey.PERMANENT_SUSPENSION]
            assert person.outcome is not None
            outcome = person.outcome
            enforcement = Enforcement.HIDE_CONTENT if person.hide_content else Enforcement.NONE
            rule_ids += (*enforced.rule_ids, person.id)
            reasons.extend(enforced.reasons)
            reasons.append(f"{person.id}: a suspension is decided by a person; the post is hidden meanwhile")
        elif ENFORCEMENT_ORDER[enforced.enforcement] > ENFORCEMENT_ORDER[ceiling.max_enforcement]:
            enforcement = ceiling.max_enforcement
            issues_strike = enforced.issues_strike and enforcement is not Enforcement.HIDE_CONTENT
            rule_ids += (ceiling.id,)
            reasons.append(
                f"{ceiling.id}: the ladder's {enforced.enforcement.value} ({', '.join(enforced.rule_ids)}) is beyond "
                f"what a {assurance.value.replace('_', ' ')} claim bears: {enforcement.value}"
            )
        else:
            enforcement, issues_strike = enforced.enforcement, enforced.issues_strike
            rule_ids += (*enforced.rule_ids, ceiling.id)
            reasons.extend(enforced.reasons)
    priority = sla_hours = None
    if outcome is Outcome.NEEDS_REVIEW:
        priority, sla_hours = review_priority(facts, policy)
        reasons.append(f"review priority {priority}, within {sla_hours} hour(s)")
    return Decision(
        outcome=outcome,
        enforcement=enforcement,
        issues_strike=issues_strike,
        rule_ids=rule_ids,
        exceptions_considered=checks,
        reasons=tuple(reasons),
        statement_of_reasons=_statement(policy.index, spec, rule_ids, outcome, enforcement, issues_strike),
        policy_version=policy.version,
        automated=True,
        review_priority=priority,
        review_sla_hours=sla_hours,
    )


def reporter_rule_ids(decision: Decision, policy: Policy | None = None) -> tuple[str, ...]:
    """The rules a reporter is shown: those about the content, never the ladder or automation rules (they tell of
    the author's account and history)."""
    policy = load_policy() if policy is None else policy
    return tuple(r for r in decision.rule_ids if r in policy.index.content_ids)


def reporter_statement(decision: Decision, category: Category, policy: Policy | None = None) -> str:
    """The statement of reasons a reporter reads: the content decision and its reasons, without any measure against
    the author's account, strike or history (the author's personal data)."""
    policy = load_policy() if policy is None else policy
    index = policy.index
    return _statement(
        index,
        index.categories[category],
        reporter_rule_ids(decision, policy),
        decision.outcome,
        Enforcement.HIDE_CONTENT if decision.enforcement is not Enforcement.NONE else Enforcement.NONE,
        False,
        decision.automated,
        for_reporter=True,
    )


def _statement(
    index: PolicyIndex,
    spec: CategorySpec,
    rule_ids: tuple[str, ...],
    outcome: Outcome,
    enforcement: Enforcement,
    issues_strike: bool,
    automated: bool = True,
    *,
    for_reporter: bool = False,
    found: str | None = None,
) -> str:
    """The statement of reasons: built from policy text only, so it can carry no ids and no personal data.

    `found` (how an automated match found the post: signal, distance, the earlier decision's date and rules) is
    filled from policy text too, and never holds a hash or an id.
    """
    key = (spec.id, rule_ids, outcome, enforcement, issues_strike, automated, for_reporter)
    if found is None and (cached := index.statements.get(key)) is not None:
        return cached
    parts = [f"What was reported: {spec.label}. {spec.description}"]
    parts += [f"{index.headings[rule_id]}: {index.texts[rule_id]}" for rule_id in rule_ids]
    hidden_meanwhile = outcome is Outcome.NEEDS_REVIEW and enforcement is not Enforcement.NONE
    parts.append(
        f"What happens: {index.hidden_pending_review_text if hidden_meanwhile else index.outcome_texts[outcome]}"
    )
    if enforcement is not Enforcement.NONE and not for_reporter and not hidden_meanwhile:
        parts.append(index.enforcement_texts[enforcement])
    if issues_strike:
        parts.append(index.strike_text)
    if found is not None:
        parts.append(found)
    parts.append(index.automated_text if automated else index.human_text)
    parts.append(index.appeal_text if outcome in index.final_outcomes else index.interim_text)
    statement = "\n".join(parts)
    if found is None:
        index.statements[key] = statement
    return statement


def missing_confirmations(
    category: Category, relationship: Relationship, attestations: Attestations, policy: Policy | None = None
) -> tuple[str, ...]:
    """The confirmations a first-person report still lacks for the policy to act on it (none for a report by someone
    else, or for a category that needs none)."""
    policy = load_policy() if policy is None else policy
    if not policy.index.categories[category].attestations_required:
        return ()
    needed: tuple[str, ...]
    match relationship:
        case Relationship.SELF:
            needed = ("information_is_mine", "not_published_elsewhere")
        case Relationship.AUTHORIZED_REPRESENTATIVE:
            needed = ("representative_authority",)
        case Relationship.OTHER:
            needed = ()
        case unreachable:
            assert_never(unreachable)
    return tuple(name for name in needed if not getattr(attestations, name))


class RuleNotApplicable(ValueError):
    """A person's decision cites a rule that does not fit the case's category or the outcome chosen."""


def citable_rules(category: Category, outcome: Outcome, policy: Policy | None = None) -> tuple[str, ...]:
    """The rule ids a moderator may cite for `outcome` on a case of `category`.

    Removal: the category's violation rule. No violation: a rule or exception that keeps the content, or the
    category's violation rule itself (found not broken).
    """
    policy = load_policy() if policy is None else policy
    spec = policy.index.categories[category]
    violation = [
        r.id
        for r in policy.rules
        if category in r.categories and r.outcome is Outcome.REMOVE and r.trigger not in BANK_MATCH_TRIGGERS
    ]
    if outcome is Outcome.REMOVE:
        return tuple(violation)
    if outcome is Outcome.NO_VIOLATION:
        keeps = [r.id for r in policy.rules if category in r.categories and r.outcome is Outcome.NO_VIOLATION]
        if spec.exceptions_apply:
            keeps += [e.id for e in policy.exceptions if e.outcome is Outcome.NO_VIOLATION]
        return tuple(keeps + violation)
    return ()


def decide_by_person(facts: CaseFacts, outcome: Outcome, rule_id: str, policy: Policy | None = None) -> Decision:
    """A moderator's or appeal reviewer's decision, recorded as not automated.

    The cited rule must fit the category and the outcome; a removal walks the same enforcement ladder as an
    automated one. Raises RuleNotApplicable otherwise.
    """
    policy = load_policy() if policy is None else policy
    index = policy.index
    spec = index.categories[facts.category]
    allowed = citable_rules(facts.category, outcome, policy)
    if rule_id not in allowed:
        raise RuleNotApplicable(
            f"rule {rule_id} cannot be cited for {outcome.value} on {facts.category.value}; "
            f"citable: {', '.join(allowed) or 'none'}"
        )
    reasons = [f"decided by a person, citing {rule_id}: {outcome.value}"]
    rule_ids: tuple[str, ...] = (rule_id,)
    enforcement, issues_strike = Enforcement.NONE, False
    if outcome is Outcome.REMOVE:
        if facts.post is None:
            raise RuleNotApplicable("a removal needs the reported post's facts from the platform")
        enforced = decide_enforcement(
            facts.category, facts.post, facts.author, facts.author_strikes, facts.now, policy, case_id=facts.case_id
        )
        enforcement, issues_strike = enforced.enforcement, enforced.issues_strike
        rule_ids += enforced.rule_ids
        reasons.extend(enforced.reasons)
    return Decision(
        outcome=outcome,
        enforcement=enforcement,
        issues_strike=issues_strike,
        rule_ids=rule_ids,
        reasons=tuple(reasons),
        statement_of_reasons=_statement(index, spec, rule_ids, outcome, enforcement, issues_strike, automated=False),
        policy_version=policy.version,
        automated=False,
    )


# ---------------------------------------------------------------- hash matching


class MatchAction(StrEnum):
    BLOCK = "block"  # removed automatically (at upload: do not publish)
    REVIEW = "review"  # a moderator decides
    NONE = "none"  # nothing to do under this policy


class MatchVerdict(Frozen):
    """What the policy says about one media item's matches."""

    action: MatchAction
    rule_id: str | None = None
    category: Category | None = None
    used: tuple[BankMatch, ...] = ()  # the matches the policy weighed (active, within thresholds, quality)
    deciding: BankMatch | None = None  # the match the action rests on (for the statement)
    per_match: tuple[tuple[BankMatch, MatchAction, str], ...] = ()  # each used match: its own action and rule


_MATCH_TRIGGER_ACTION = {
    RuleTrigger.BANK_MATCH_REMOVED: MatchAction.BLOCK,
    RuleTrigger.BANK_MATCH_NEAR: MatchAction.REVIEW,
    RuleTrigger.BANK_MATCH_PROTECTED: MatchAction.REVIEW,
    RuleTrigger.BANK_MATCH_CLEARED: MatchAction.NONE,
}


def _match_trigger(match: BankMatch, strict: int) -> RuleTrigger:
    match match.entry.bank:
        case Bank.CLEARED:
            return RuleTrigger.BANK_MATCH_CLEARED
        case Bank.PROTECTED:
            return RuleTrigger.BANK_MATCH_PROTECTED
        case Bank.REMOVED:
            close = match.signal != "pdq" or match.distance <= strict
            return RuleTrigger.BANK_MATCH_REMOVED if close else RuleTrigger.BANK_MATCH_NEAR
        case unreachable:
            assert_never(unreachable)


def usable_match(match: BankMatch, pdq_quality: int | None, policy: Policy) -> bool:
    """Active, and for PDQ: both hashes of sufficient quality and within the review distance."""
    if match.entry.status is not EntryStatus.ACTIVE or match.entry.category not in policy.index.banked_categories:
        return False
    if match.signal != "pdq":
        return match.distance == 0
    hm = policy.hash_matching
    entry_quality = match.entry.signals.pdq_quality
    return (
        pdq_quality is not None
        and pdq_quality >= hm.pdq_min_quality
        and entry_quality is not None
        and entry_quality >= hm.pdq_min_quality
        and match.distance <= hm.pdq_review_distance
    )


def match_verdict(matches: Iterable[BankMatch], pdq_quality: int | None, policy: Policy | None = None) -> MatchVerdict:
    """Decide what one media item's bank matches call for, citing a rule.

    Exact hashes, or PDQ within the strict distance, of removed media: block. PDQ up to the review distance of
    removed media, or any match of protected media: review. A match of cleared media suppresses automation (review
    when something else matched too, nothing otherwise). PDQ of low quality (the upload's or the entry's) is not used.
    """
    policy = load_policy() if policy is None else policy
    strict = policy.hash_matching.pdq_strict_distance
    used = sorted(
        (m for m in matches if usable_match(m, pdq_quality, policy)),
        key=lambda m: (m.distance, m.signal != "sha256", m.signal != "md5", m.entry.entry_id),
    )
    if not used:
        return MatchVerdict(action=MatchAction.NONE)
    triggers = [(m, _match_trigger(m, strict)) for m in used]
    acting = [(m, t) for m, t in triggers if t is not RuleTrigger.BANK_MATCH_CLEARED]
    cleared = [m for m, t in triggers if t is RuleTrigger.BANK_MATCH_CLEARED]
    categories = {m.entry.category for m, _ in acting} or {m.entry.category for m in cleared}
    category = Category.INTIMATE_MEDIA if Category.INTIMATE_MEDIA in categories else next(iter(sorted(categories)))
    index = policy.index
    per_match = tuple((m, _MATCH_TRIGGER_ACTION[t], index.rule(t, m.entry.category).id) for m, t in triggers)
    if not acting:
        rule = index.rule(RuleTrigger.BANK_MATCH_CLEARED, category)
        return MatchVerdict(
            action=MatchAction.NONE, rule_id=rule.id, category=category, used=tuple(used), per_match=per_match
        )
    if cleared:
        trigger, deciding = RuleTrigger.BANK_MATCH_CLEARED, cleared[0]
    elif blocking := [m for m, t in acting if t is RuleTrigger.BANK_MATCH_REMOVED]:
        trigger, deciding = RuleTrigger.BANK_MATCH_REMOVED, blocking[0]
    elif protected := [m for m, t in acting if t is RuleTrigger.BANK_MATCH_PROTECTED]:
        trigger, deciding = RuleTrigger.BANK_MATCH_PROTECTED, protected[0]
    else:
        trigger, deciding = RuleTrigger.BANK_MATCH_NEAR, acting[0][0]
    action = MatchAction.BLOCK if trigger is RuleTrigger.BANK_MATCH_REMOVED else MatchAction.REVIEW
    return MatchVerdict(
        action=action,
        rule_id=index.rule(trigger, category).id,
        category=category,
        used=tuple(used),
        deciding=deciding,
        per_match=per_match,
    )


class MatchCaseFacts(Frozen):
    """What a case opened by a match is decided on (no report: the source is automated detection)."""

    case_id: str
    verdict: MatchVerdict
    post: PostFacts
    author: AccountFacts | None = None
    author_strikes: tuple[Strike, ...] = ()
    now: datetime


def decide_match(facts: MatchCaseFacts, policy: Policy | None = None) -> Decision:
    """The automated decision on a post whose media matched a bank: removal on the ladder, or review."""
    policy = load_policy() if policy is None else policy
    verdict = facts.verdict
    if verdict.action is MatchAction.NONE or verdict.category is None or verdict.rule_id is None:
        raise ValueError("a match that calls for nothing opens no case")
    assert verdict.deciding is not None
    index = policy.index
    spec = index.categories[verdict.category]
    reasons = [
        f"{m.entry.bank.value} entry {m.entry.entry_id} matched by {m.signal} at distance {m.distance}: "
        f"{action.value} ({rule_id})"
        for m, action, rule_id in verdict.per_match
    ]
    rule_ids: tuple[str, ...] = (verdict.rule_id,)
    enforcement, issues_strike = Enforcement.NONE, False
    priority = sla_hours = None
    found: str | None = None
    if verdict.action is MatchAction.BLOCK:
        outcome = Outcome.REMOVE
        enforced = decide_enforcement(
            spec.id, facts.post, facts.author, facts.author_strikes, facts.now, policy, case_id=facts.case_id
        )
        rule_ids += enforced.rule_ids
        reasons.extend(enforced.reasons)
        if enforced.enforcement is Enforcement.PERMANENT_SUSPENSION:
            # a match proves the media, not what the account deserves: only a person suspends (the post is hidden
            # while a moderator reviews, at the top of the queue)
            person = index.automation[AutomationKey.PERMANENT_SUSPENSION]
            assert person.outcome is not None
            outcome = person.outcome
            enforcement = Enforcement.HIDE_CONTENT if person.hide_content else Enforcement.NONE
            rule_ids += (person.id,)
            reasons.append(f"{person.id}: a suspension is decided by a person; the post is hidden meanwhile")
            priority, sla_hours = _review_tier(policy, spec.id, live=False, trusted=False)
        else:
            enforcement, issues_strike = enforced.enforcement, enforced.issues_strike
        entry = verdict.deciding.entry
        found = policy.hash_matching.matched_statement.format_map(
            {
                "signal": _SIGNAL_NAMES.get(verdict.deciding.signal, verdict.deciding.signal),
                "origin_decided_at": entry.origin_decided_at.date().isoformat() if entry.origin_decided_at else "-",
                "origin_rules": ", ".join(entry.origin_rule_ids[:1]) or "this policy",
                "distance": verdict.deciding.distance,
                "pdq_strict_distance": policy.hash_matching.pdq_strict_distance,
            }
        )
    else:
        outcome = Outcome.NEEDS_REVIEW
        priority, sla_hours = _review_tier(policy, spec.id, live=False, trusted=False)
        reasons.append(f"review priority {priority}, within {sla_hours} hour(s)")
    return Decision(
        outcome=outcome,
        enforcement=enforcement,
        issues_strike=issues_strike,
        rule_ids=rule_ids,
        reasons=tuple(reasons),
        statement_of_reasons=_statement(index, spec, rule_ids, outcome, enforcement, issues_strike, found=found),
        policy_version=policy.version,
        automated=True,
        review_priority=priority,
        review_sla_hours=sla_hours,
    )


_SIGNAL_NAMES = {"md5": "MD5 file hash", "sha256": "SHA-256 file hash", "pdq": "PDQ photo hash"}
