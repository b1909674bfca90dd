"""Invariants of the policy engine over generated cases (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent_guard.models.domain import (
    AccountFacts,
    Attestations,
    CaseFacts,
    Category,
    Enforcement,
    MediaFacts,
    MediaItem,
    MediaType,
    Outcome,
    PostFacts,
    PostSignals,
    Relationship,
    ReportFacts,
    Strike,
)
from consent_guard.policy import active_strikes, evaluate_case, load_policy

POLICY = load_policy()
ids = st.uuids().map(str)
any_category = st.sampled_from(Category)
any_relationship = st.sampled_from(Relationship)
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC))
offsets = st.timedeltas(min_value=timedelta(days=-800), max_value=timedelta(days=800))

# wall-time checks are noise on a shared machine (performance belongs in make bench): properties, not timings
settings.register_profile("shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")


attestations = st.builds(
    Attestations,
    accurate_and_complete=st.booleans(),
    information_is_mine=st.booleans(),
    not_published_elsewhere=st.booleans(),
    representative_authority=st.booleans(),
)
COMPLETE = Attestations(
    accurate_and_complete=True, information_is_mine=True, not_published_elsewhere=True, representative_authority=True
)


@st.composite
def reports(draw: st.DrawFn, relationships: st.SearchStrategy[Relationship] = any_relationship) -> ReportFacts:
    """Half of the reports carry every confirmation, so generated cases get past the confirmation check."""
    complete = draw(st.booleans())
    return ReportFacts(
        report_id=draw(ids),
        reporter_id=draw(ids),
        relationship=draw(relationships),
        attestations=COMPLETE if complete else draw(attestations),
        represented_account_id=draw(ids) if complete else draw(st.none() | ids),
        live_location=draw(st.booleans()),
        trusted_flagger=draw(st.booleans()),
        submitted_at=draw(instants),
    )


some_post = st.builds(
    PostFacts,
    post_id=ids,
    author_id=ids,
    created_at=instants,
    media=st.lists(st.builds(MediaItem, media_id=ids, media_type=st.sampled_from(MediaType)), max_size=2).map(tuple),
    is_reshare=st.booleans(),
    deleted=st.booleans(),
    signals=st.builds(
        PostSignals,
        public_interest=st.booleans(),
        harassment=st.booleans(),
        crisis=st.booleans(),
        eyewitness=st.booleans(),
        community_relevance=st.booleans(),
        public_event=st.booleans(),
    ),
)
# the post's facts are usually known: three draws in four have them
posts = st.sampled_from((True, True, True, False)).flatmap(lambda known: some_post if known else st.none())
accounts = st.none() | st.builds(
    AccountFacts, account_id=ids, public_figure=st.booleans(), dedicated_to_exposure=st.booleans()
)
media_facts = st.builds(MediaFacts, media_id=ids, publicly_available=st.booleans(), mainstream_coverage=st.booleans())


@st.composite
def cases(
    draw: st.DrawFn,
    categories: st.SearchStrategy[Category] = any_category,
    relationships: st.SearchStrategy[Relationship] = any_relationship,
) -> CaseFacts:
    now = draw(instants)
    case_id = draw(ids)

    def strike() -> Strike:
        issued = now + draw(offsets)
        return Strike(
            case_id=draw(st.just(case_id) | ids),
            category=draw(any_category),
            rule_id="PIM-8",
            issued_at=issued,
            expires_at=issued + timedelta(days=POLICY.strike_expiry_days),
        )

    return CaseFacts(
        case_id=case_id,
        category=draw(categories),
        reports=tuple(draw(st.lists(reports(relationships), min_size=1, max_size=3))),
        post=draw(posts),
        author=draw(accounts),
        person_concerned=draw(accounts),
        media=tuple(draw(st.lists(media_facts, max_size=2))),
        author_strikes=tuple(strike() for _ in range(draw(st.integers(0, 2)))),
        now=now,
    )


def weighing_factor_present(facts: CaseFacts) -> bool:
    signals = facts.post.signals if facts.post else PostSignals()
    return (
        any(m.publicly_available or m.mainstream_coverage for m in facts.media)
        or signals.crisis
        or signals.eyewitness
        or signals.community_relevance
        or signals.public_event
    )


@given(cases(st.just(Category.PRIVATE_MEDIA), st.just(Relationship.OTHER)))
def test_reports_from_others_alone_never_remove_private_media(facts: CaseFacts) -> None:
    decision = evaluate_case(facts)
    assert decision.outcome is not Outcome.REMOVE
    assert decision.outcome in {Outcome.AWAITING_FIRST_PERSON, Outcome.NEEDS_CONTEXT}


@given(cases(st.just(Category.PRIVATE_MEDIA)).filter(weighing_factor_present))
def test_a_weighing_factor_never_decides_private_media_automatically(facts: CaseFacts) -> None:
    assert evaluate_case(facts).outcome not in {Outcome.REMOVE, Outcome.NO_VIOLATION}


@given(cases(st.just(Category.INTIMATE_MEDIA)))
def test_intimate_media_is_never_kept_or_left_waiting_for_the_person_depicted(facts: CaseFacts) -> None:
    decision = evaluate_case(facts)
    assert decision.outcome not in {Outcome.NO_VIOLATION, Outcome.AWAITING_FIRST_PERSON}
    assert not any(check.applies for check in decision.exceptions_considered)
    if decision.outcome is Outcome.NEEDS_REVIEW:
        assert decision.review_priority == 0


@given(cases())
def test_the_same_facts_give_the_same_decision(facts: CaseFacts) -> None:
    first = evaluate_case(facts)
    assert evaluate_case(facts) == first
    assert evaluate_case(CaseFacts.model_validate_json(facts.model_dump_json()), POLICY) == first


@settings(max_examples=300)
@given(cases())
def test_every_decision_is_explained_from_the_document(facts: CaseFacts) -> None:
    decision = evaluate_case(facts)
    assert decision.rule_ids and decision.reasons and decision.statement_of_reasons.strip()
    assert set(decision.rule_ids) <= POLICY.index.provision_ids
    assert {c.exception_id for c in decision.exceptions_considered} <= POLICY.index.provision_ids
    assert decision.policy_version == POLICY.version
    assert decision.automated is True


@given(cases())
def test_enforcement_and_strikes_only_follow_a_removal(facts: CaseFacts) -> None:
    """A removal enforces something; a strike only with an account measure; the only measure outside a removal is
    the post hidden while a person reviews a suspension (PIM-A4); automation never suspends."""
    decision = evaluate_case(facts)
    removed = decision.outcome is Outcome.REMOVE
    hidden_for_review = decision.outcome is Outcome.NEEDS_REVIEW and decision.enforcement is Enforcement.HIDE_CONTENT
    assert (decision.enforcement is not Enforcement.NONE) is (removed or hidden_for_review)
    assert decision.enforcement is not Enforcement.PERMANENT_SUSPENSION
    if decision.issues_strike:
        assert removed and decision.enforcement is Enforcement.REQUIRE_REMOVAL
    if hidden_for_review:
        assert "PIM-A4" in decision.rule_ids


@given(cases())
def test_an_active_strike_from_another_case_means_suspension_on_removal(facts: CaseFacts) -> None:
    """... which only a person decides: automation hides the post and sends the case to a moderator (PIM-A4)."""
    decision = evaluate_case(facts)
    if active_strikes(facts.author_strikes, facts.now, exclude_case_id=facts.case_id):
        assert decision.outcome is not Outcome.REMOVE
        if "PIM-E4" in decision.rule_ids:
            assert decision.rule_ids[-1] == "PIM-A4" and decision.enforcement is Enforcement.HIDE_CONTENT


@given(cases())
def test_needs_review_always_has_priority_and_sla_and_nothing_else_does(facts: CaseFacts) -> None:
    decision = evaluate_case(facts)
    review = decision.outcome is Outcome.NEEDS_REVIEW
    assert (decision.review_priority is not None) is review
    assert (decision.review_sla_hours is not None) is review
    if review:
        assert decision.review_priority is not None and decision.review_priority >= 0
        assert decision.review_sla_hours is not None and decision.review_sla_hours > 0


@given(cases())
def test_who_reported_bounds_the_outcome(facts: CaseFacts) -> None:
    decision = evaluate_case(facts)
    in_scope = facts.category in POLICY.index.in_scope_categories
    if not in_scope:
        assert decision.outcome is Outcome.NO_VIOLATION
    if decision.outcome is Outcome.REMOVE:
        assert any(r.relationship is not Relationship.OTHER for r in facts.reports)
    if decision.outcome is Outcome.AWAITING_FIRST_PERSON:
        assert facts.category is Category.PRIVATE_MEDIA
    if facts.post is None and in_scope:
        assert decision.outcome is Outcome.NEEDS_CONTEXT


@given(cases())
def test_statement_and_reasons_never_carry_identifiers(facts: CaseFacts) -> None:
    decision = evaluate_case(facts)
    text = "\n".join(
        (decision.statement_of_reasons, *decision.reasons, *(c.reason for c in decision.exceptions_considered))
    )
    identifiers = {facts.case_id, *(m.media_id for m in facts.media), *(s.case_id for s in facts.author_strikes)}
    for r in facts.reports:
        identifiers |= {r.report_id, r.reporter_id, r.represented_account_id or facts.case_id}
    for account in (facts.author, facts.person_concerned):
        if account:
            identifiers.add(account.account_id)
    if facts.post:
        identifiers |= {facts.post.post_id, facts.post.author_id, *(m.media_id for m in facts.post.media)}
    assert not [i for i in identifiers if i in text]
