"""Table-driven tests of the policy engine: one row per rule, exception, rung and combination that matters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consent_guard.models.domain import (
    AccountFacts,
    Attestations,
    CaseFacts,
    Category,
    Decision,
    Enforcement,
    MediaFacts,
    MediaItem,
    MediaType,
    Outcome,
    PostFacts,
    PostSignals,
    Relationship,
    ReporterFacts,
    ReportFacts,
    Strike,
)
from consent_guard.policy import (
    EnforcementDecision,
    active_strikes,
    decide_enforcement,
    evaluate_case,
    load_policy,
    review_priority,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CASE_ID = "case-7f3a"
REPORTER_ID = "reporter-91c2"

OUT_OF_SCOPE = (
    Category.NAME,
    Category.BIRTHDATE_OR_AGE,
    Category.BUSINESS_ADDRESS,
    Category.PLACE_OF_WORK_OR_EDUCATION,
    Category.APPEARANCE_DESCRIPTION,
)
INFORMATION = (
    Category.HOME_ADDRESS_OR_LOCATION,
    Category.IDENTITY_DOCUMENT,
    Category.CONTACT_INFORMATION,
    Category.FINANCIAL_INFORMATION,
    Category.MEDICAL_OR_BIOMETRIC,
)
CONDUCT = (Category.THREAT_TO_EXPOSE, Category.INCENTIVE_TO_EXPOSE, Category.EXTORTION)
IN_SCOPE = tuple(c for c in Category if c not in OUT_OF_SCOPE)
MEDIA_IDS = ("PIM-X1", "PIM-X2", "PIM-W1", "PIM-W2", "PIM-W3", "PIM-W4", "PIM-W5", "PIM-W6")


# ---- factories ---------------------------------------------------------------------------------------------------


def report(
    relationship: Relationship = Relationship.SELF,
    *,
    attested: bool = True,
    live_location: bool = False,
    trusted_flagger: bool = False,
    **attestations: bool,
) -> ReportFacts:
    """A report; `attested` gives the confirmations its relationship needs (others may be set one by one)."""
    represented = None
    if attested and relationship is Relationship.SELF:
        attestations = {"information_is_mine": True, "not_published_elsewhere": True, **attestations}
    if attested and relationship is Relationship.AUTHORIZED_REPRESENTATIVE:
        attestations = {"representative_authority": True, **attestations}
        represented = "account-represented"
    return ReportFacts(
        report_id=f"report-{relationship.value}",
        reporter_id=REPORTER_ID,
        relationship=relationship,
        attestations=Attestations(accurate_and_complete=True, **attestations),
        represented_account_id=represented,
        live_location=live_location,
        trusted_flagger=trusted_flagger,
        submitted_at=NOW - timedelta(minutes=5),
    )


SELF = report()
SELF_UNATTESTED = report(attested=False)
REPRESENTATIVE = report(Relationship.AUTHORIZED_REPRESENTATIVE)
REPRESENTATIVE_UNATTESTED = report(Relationship.AUTHORIZED_REPRESENTATIVE, attested=False)
OTHER = report(Relationship.OTHER)


def post(*, media: int = 1, reshare: bool = False, **signals: bool) -> PostFacts:
    return PostFacts(
        post_id="post-5d1e",
        author_id="author-2b7c",
        created_at=NOW - timedelta(hours=2),
        media=tuple(MediaItem(media_id=f"media-{i}", media_type=MediaType.PHOTO) for i in range(media)),
        is_reshare=reshare,
        signals=PostSignals(**signals),
    )


POST = post()


def strike(*, days_ago: int, case_id: str = "case-earlier", expiry_days: int = 365) -> Strike:
    issued = NOW - timedelta(days=days_ago)
    return Strike(
        case_id=case_id,
        category=Category.PRIVATE_MEDIA,
        rule_id="PIM-8",
        issued_at=issued,
        expires_at=issued + timedelta(days=expiry_days),
    )


def case(
    category: Category = Category.PRIVATE_MEDIA,
    *reports: ReportFacts,
    post_facts: PostFacts | None = POST,
    public_figure: bool = False,
    dedicated: bool = False,
    media_facts: tuple[MediaFacts, ...] = (),
    strikes: tuple[Strike, ...] = (),
    verified: bool = True,
    reporters: tuple[ReporterFacts, ...] = (),
) -> CaseFacts:
    """A case; `verified`: the platform confirmed the reporters' claims (identity verified, the representative's
    authority, the person concerned shown in the media), so automation may go as far as the ladder allows."""
    people = (REPORTER_ID, "account-represented")
    media = media_facts or (MediaFacts(media_id="media-0"),)
    return CaseFacts(
        case_id=CASE_ID,
        category=category,
        reports=reports or (SELF,),
        post=post_facts,
        author=AccountFacts(account_id="author-2b7c", dedicated_to_exposure=dedicated),
        person_concerned=AccountFacts(account_id="person-44aa", public_figure=public_figure),
        media=tuple(m.model_copy(update={"depicted_account_ids": people if verified else ()}) for m in media),
        author_strikes=strikes,
        reporters=reporters,
        accounts=(
            AccountFacts(account_id=REPORTER_ID, identity_verified=verified),
            AccountFacts(
                account_id="account-represented", authorized_representatives=(REPORTER_ID,) if verified else ()
            ),
        ),
        now=NOW,
    )


# ---- the decision table -----------------------------------------------------------------------------------------

REMOVED = (Enforcement.REQUIRE_REMOVAL, "PIM-E5")
SUSPENDED_REPEAT = (Enforcement.PERMANENT_SUSPENSION, "PIM-E4")
KEPT = (Enforcement.NONE, None)

P = pytest.param
DECISIONS = [
    # scope and missing facts
    *(
        P(case(c, OTHER, post_facts=None), Outcome.NO_VIOLATION, ("PIM-1",), KEPT, id=f"out-of-scope-{c}")
        for c in OUT_OF_SCOPE
    ),
    *(
        P(case(c, SELF, post_facts=None), Outcome.NEEDS_CONTEXT, ("PIM-2",), KEPT, id=f"post-none-{c}")
        for c in IN_SCOPE
    ),
    # private media: who reported, and their confirmations
    P(case(Category.PRIVATE_MEDIA, OTHER), Outcome.AWAITING_FIRST_PERSON, ("PIM-3",), KEPT, id="media-other-only"),
    P(
        case(Category.PRIVATE_MEDIA, OTHER, OTHER),
        Outcome.AWAITING_FIRST_PERSON,
        ("PIM-3",),
        KEPT,
        id="media-two-others",
    ),
    P(case(Category.PRIVATE_MEDIA, SELF), Outcome.REMOVE, ("PIM-8",), REMOVED, id="media-self-attested"),
    P(case(Category.PRIVATE_MEDIA, OTHER, SELF), Outcome.REMOVE, ("PIM-8",), REMOVED, id="media-other-then-self"),
    P(case(Category.PRIVATE_MEDIA, REPRESENTATIVE), Outcome.REMOVE, ("PIM-8",), REMOVED, id="media-representative"),
    P(
        case(Category.PRIVATE_MEDIA, SELF_UNATTESTED, REPRESENTATIVE),
        Outcome.REMOVE,
        ("PIM-8",),
        REMOVED,
        id="media-any-complete-first-person-report-suffices",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF_UNATTESTED),
        Outcome.NEEDS_REVIEW,
        ("PIM-4",),
        KEPT,
        id="media-self-unattested",
    ),
    P(
        case(Category.PRIVATE_MEDIA, report(attested=False, information_is_mine=True)),
        Outcome.NEEDS_REVIEW,
        ("PIM-4",),
        KEPT,
        id="media-self-not-confirmed-unpublished",
    ),
    P(
        case(Category.PRIVATE_MEDIA, report(attested=False, not_published_elsewhere=True)),
        Outcome.NEEDS_REVIEW,
        ("PIM-4",),
        KEPT,
        id="media-self-not-confirmed-mine",
    ),
    P(
        case(Category.PRIVATE_MEDIA, REPRESENTATIVE_UNATTESTED),
        Outcome.NEEDS_REVIEW,
        ("PIM-4",),
        KEPT,
        id="media-representative-without-authority",
    ),
    P(
        case(
            Category.PRIVATE_MEDIA,
            report(Relationship.AUTHORIZED_REPRESENTATIVE, attested=False, representative_authority=True),
        ),
        Outcome.NEEDS_REVIEW,
        ("PIM-4",),
        KEPT,
        id="media-representative-without-represented-account",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF_UNATTESTED, OTHER),
        Outcome.NEEDS_REVIEW,
        ("PIM-4",),
        KEPT,
        id="media-self-unattested-beats-other",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, post_facts=post(media=0)),
        Outcome.NEEDS_REVIEW,
        ("PIM-5",),
        KEPT,
        id="media-none",
    ),
    # private media: exceptions and the harassment override
    P(
        case(Category.PRIVATE_MEDIA, SELF, public_figure=True, post_facts=post(public_interest=True)),
        Outcome.NO_VIOLATION,
        ("PIM-X1",),
        KEPT,
        id="public-figure-public-interest",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, public_figure=True, post_facts=post(public_interest=True, harassment=True)),
        Outcome.REMOVE,
        ("PIM-8", "PIM-6"),
        REMOVED,
        id="public-figure-harassment",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, public_figure=True),
        Outcome.REMOVE,
        ("PIM-8",),
        REMOVED,
        id="public-figure-only",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, post_facts=post(public_interest=True)),
        Outcome.NEEDS_REVIEW,
        ("PIM-X2",),
        KEPT,
        id="public-interest-private-individual",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, post_facts=post(public_interest=True, harassment=True)),
        Outcome.REMOVE,
        ("PIM-8", "PIM-6"),
        REMOVED,
        id="public-interest-private-individual-harassment",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, post_facts=post(harassment=True)),
        Outcome.REMOVE,
        ("PIM-8",),
        REMOVED,
        id="harassment-without-exception-overrides-nothing",
    ),
    P(
        case(Category.PRIVATE_MEDIA, OTHER, public_figure=True, post_facts=post(public_interest=True)),
        Outcome.AWAITING_FIRST_PERSON,
        ("PIM-3",),
        KEPT,
        id="public-figure-reported-by-other-waits",
    ),
    # private media: weighing factors
    *(
        P(
            case(Category.PRIVATE_MEDIA, SELF, post_facts=post(**{s: True})),
            Outcome.NEEDS_REVIEW,
            ("PIM-7",),
            KEPT,
            id=f"weigh-{s}",
        )
        for s in ("crisis", "eyewitness", "community_relevance", "public_event")
    ),
    *(
        P(
            case(Category.PRIVATE_MEDIA, SELF, media_facts=(MediaFacts(media_id="media-0", **{f: True}),)),
            Outcome.NEEDS_REVIEW,
            ("PIM-7",),
            KEPT,
            id=f"weigh-{f}",
        )
        for f in ("publicly_available", "mainstream_coverage")
    ),
    P(
        case(Category.PRIVATE_MEDIA, REPRESENTATIVE, post_facts=post(crisis=True)),
        Outcome.NEEDS_REVIEW,
        ("PIM-7",),
        KEPT,
        id="weigh-representative-report",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, public_figure=True, post_facts=post(public_interest=True, eyewitness=True)),
        Outcome.NEEDS_REVIEW,
        ("PIM-7",),
        KEPT,
        id="weigh-beats-public-figure-exception",
    ),
    P(
        case(
            Category.PRIVATE_MEDIA,
            SELF,
            public_figure=True,
            post_facts=post(public_interest=True, harassment=True, crisis=True),
        ),
        Outcome.NEEDS_REVIEW,
        ("PIM-7", "PIM-6"),
        KEPT,
        id="weigh-with-harassment-override",
    ),
    P(
        case(Category.PRIVATE_MEDIA, OTHER, post_facts=post(crisis=True)),
        Outcome.AWAITING_FIRST_PERSON,
        ("PIM-3",),
        KEPT,
        id="weigh-but-only-other-reported",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF_UNATTESTED, post_facts=post(crisis=True)),
        Outcome.NEEDS_REVIEW,
        ("PIM-4",),
        KEPT,
        id="weigh-but-unattested",
    ),
    # intimate media: no exceptions, bystanders reviewed
    P(case(Category.INTIMATE_MEDIA, OTHER), Outcome.NEEDS_REVIEW, ("PIM-9",), KEPT, id="intimate-bystander"),
    P(
        case(Category.INTIMATE_MEDIA, OTHER, public_figure=True, post_facts=post(public_interest=True)),
        Outcome.NEEDS_REVIEW,
        ("PIM-9",),
        KEPT,
        id="intimate-bystander-public-figure",
    ),
    P(
        case(Category.INTIMATE_MEDIA, SELF),
        Outcome.REMOVE,
        ("PIM-10", "PIM-E3"),
        (Enforcement.PERMANENT_SUSPENSION, None),
        id="intimate-self-original-poster",
    ),
    P(
        case(Category.INTIMATE_MEDIA, SELF_UNATTESTED),
        Outcome.REMOVE,
        ("PIM-10", "PIM-E3"),
        (Enforcement.PERMANENT_SUSPENSION, None),
        id="intimate-self-unattested",
    ),
    P(
        case(Category.INTIMATE_MEDIA, REPRESENTATIVE_UNATTESTED),
        Outcome.NEEDS_REVIEW,
        ("PIM-A5",),
        KEPT,
        id="intimate-representative-unattested",
    ),
    P(
        case(Category.INTIMATE_MEDIA, SELF, post_facts=post(reshare=True)),
        Outcome.REMOVE,
        ("PIM-10",),
        REMOVED,
        id="intimate-resharer",
    ),
    P(
        case(Category.INTIMATE_MEDIA, SELF, post_facts=post(reshare=True), strikes=(strike(days_ago=30),)),
        Outcome.REMOVE,
        ("PIM-10",),
        SUSPENDED_REPEAT,
        id="intimate-resharer-repeat",
    ),
    P(
        case(Category.INTIMATE_MEDIA, SELF, public_figure=True, post_facts=post(public_interest=True, crisis=True)),
        Outcome.REMOVE,
        ("PIM-10", "PIM-E3"),
        (Enforcement.PERMANENT_SUSPENSION, None),
        id="intimate-public-figure-no-exception",
    ),
    P(
        case(Category.INTIMATE_MEDIA, SELF, post_facts=post(media=0)),
        Outcome.NEEDS_REVIEW,
        ("PIM-5",),
        KEPT,
        id="intimate-no-media",
    ),
    # private information
    *(P(case(c, SELF), Outcome.REMOVE, ("PIM-12",), REMOVED, id=f"info-self-{c}") for c in INFORMATION),
    *(
        P(case(c, REPRESENTATIVE), Outcome.REMOVE, ("PIM-12",), REMOVED, id=f"info-representative-{c}")
        for c in INFORMATION
    ),
    *(
        P(case(c, SELF_UNATTESTED), Outcome.NEEDS_REVIEW, ("PIM-4",), KEPT, id=f"info-unattested-{c}")
        for c in INFORMATION
    ),
    *(P(case(c, OTHER), Outcome.NEEDS_REVIEW, ("PIM-11",), KEPT, id=f"info-other-{c}") for c in INFORMATION),
    P(
        case(Category.CONTACT_INFORMATION, SELF, post_facts=post(media=0, public_interest=True)),
        Outcome.REMOVE,
        ("PIM-12",),
        REMOVED,
        id="info-needs-no-media-and-has-no-exceptions",
    ),
    # threats, incentives, extortion
    *(P(case(c, OTHER), Outcome.NEEDS_REVIEW, ("PIM-13",), KEPT, id=f"conduct-other-{c}") for c in CONDUCT),
    *(
        P(case(c, SELF_UNATTESTED), Outcome.REMOVE, ("PIM-14",), REMOVED, id=f"conduct-self-{c}")
        for c in (Category.THREAT_TO_EXPOSE, Category.INCENTIVE_TO_EXPOSE)
    ),
    P(
        case(Category.THREAT_TO_EXPOSE, REPRESENTATIVE_UNATTESTED),
        Outcome.NEEDS_REVIEW,
        ("PIM-A5",),
        KEPT,
        id="conduct-representative-unconfirmed",
    ),
    P(
        case(Category.EXTORTION, SELF_UNATTESTED),
        Outcome.REMOVE,
        ("PIM-14", "PIM-E2"),
        (Enforcement.PERMANENT_SUSPENSION, None),
        id="extortion-first-violation",
    ),
    # the enforcement ladder
    P(
        case(Category.HOME_ADDRESS_OR_LOCATION, SELF, dedicated=True),
        Outcome.REMOVE,
        ("PIM-12", "PIM-E1"),
        (Enforcement.PERMANENT_SUSPENSION, None),
        id="dedicated-account",
    ),
    P(
        case(Category.EXTORTION, SELF, dedicated=True),
        Outcome.REMOVE,
        ("PIM-14", "PIM-E1"),
        (Enforcement.PERMANENT_SUSPENSION, None),
        id="dedicated-account-rung-comes-first",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, strikes=(strike(days_ago=100),)),
        Outcome.REMOVE,
        ("PIM-8",),
        SUSPENDED_REPEAT,
        id="strike-active",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, strikes=(strike(days_ago=400),)),
        Outcome.REMOVE,
        ("PIM-8",),
        REMOVED,
        id="strike-expired",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, strikes=(strike(days_ago=365),)),
        Outcome.REMOVE,
        ("PIM-8",),
        REMOVED,
        id="strike-expiring-now",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, strikes=(strike(days_ago=364),)),
        Outcome.REMOVE,
        ("PIM-8",),
        SUSPENDED_REPEAT,
        id="strike-last-day",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, strikes=(strike(days_ago=-1),)),
        Outcome.REMOVE,
        ("PIM-8",),
        REMOVED,
        id="strike-issued-after-now",
    ),
    P(
        case(Category.PRIVATE_MEDIA, SELF, strikes=(strike(days_ago=1, case_id=CASE_ID),)),
        Outcome.REMOVE,
        ("PIM-8",),
        REMOVED,
        id="strike-of-the-same-case",
    ),
    P(
        case(Category.THREAT_TO_EXPOSE, SELF, strikes=(strike(days_ago=400), strike(days_ago=10))),
        Outcome.REMOVE,
        ("PIM-14",),
        SUSPENDED_REPEAT,
        id="threat-repeat",
    ),
    P(
        case(Category.PRIVATE_MEDIA, OTHER, dedicated=True, strikes=(strike(days_ago=10),)),
        Outcome.AWAITING_FIRST_PERSON,
        ("PIM-3",),
        KEPT,
        id="no-enforcement-without-removal",
    ),
]


@pytest.mark.parametrize(("facts", "outcome", "rule_ids", "enforced"), DECISIONS)
def test_decision(
    facts: CaseFacts, outcome: Outcome, rule_ids: tuple[str, ...], enforced: tuple[Enforcement, str | None]
) -> None:
    """The table states what the ladder calls for on a verified claim; a suspension always goes to a person, with
    the post hidden meanwhile (PIM-A4), and an automated removal cites what the claim could bear (PIM-A2)."""
    enforcement, rung = enforced
    expected_ids = rule_ids if rung is None else (*rule_ids, rung)
    strike = outcome is Outcome.REMOVE
    if outcome is Outcome.REMOVE and enforcement is Enforcement.PERMANENT_SUSPENSION:
        outcome, enforcement, expected_ids, strike = (
            Outcome.NEEDS_REVIEW,
            Enforcement.HIDE_CONTENT,
            (*expected_ids, "PIM-A4"),
            False,
        )
    elif outcome is Outcome.REMOVE:
        expected_ids = (*expected_ids, "PIM-A2")
    decision = evaluate_case(facts)
    assert decision.outcome is outcome
    assert decision.enforcement is enforcement
    assert decision.issues_strike is strike
    assert decision.rule_ids == expected_ids
    assert decision.automated is True
    assert decision.policy_version == load_policy().version
    assert decision.reasons
    assert (decision.review_priority is not None) is (outcome is Outcome.NEEDS_REVIEW)
    assert (decision.review_sla_hours is not None) is (outcome is Outcome.NEEDS_REVIEW)


# ---- review priority ----------------------------------------------------------------------------------------------

REVIEWS = [
    P(case(Category.INTIMATE_MEDIA, OTHER), (0, 1), id="intimate-media"),
    P(case(Category.INTIMATE_MEDIA, report(Relationship.OTHER, trusted_flagger=True)), (0, 1), id="intimate-trusted"),
    P(
        case(Category.HOME_ADDRESS_OR_LOCATION, OTHER, post_facts=post(live_location=True)),
        (0, 1),
        id="live-location-confirmed-by-the-platform",
    ),
    P(
        case(Category.HOME_ADDRESS_OR_LOCATION, report(Relationship.OTHER, live_location=True)),
        (2, 4),
        id="live-location-hint",
    ),
    P(
        case(
            Category.HOME_ADDRESS_OR_LOCATION,
            OTHER,
            report(Relationship.OTHER, live_location=True, trusted_flagger=True),
        ),
        (1, 4),
        id="trusted-beats-a-hint",
    ),
    P(
        case(Category.CONTACT_INFORMATION, report(Relationship.OTHER, trusted_flagger=True)),
        (1, 4),
        id="trusted-flagger",
    ),
    P(case(Category.CONTACT_INFORMATION, OTHER), (3, 24), id="standard"),
    P(case(Category.PRIVATE_MEDIA, SELF_UNATTESTED), (3, 24), id="standard-media"),
    P(case(Category.PRIVATE_MEDIA, SELF, post_facts=post(crisis=True)), (3, 24), id="standard-weighing"),
]


@pytest.mark.parametrize(("facts", "expected"), REVIEWS)
def test_review_priority(facts: CaseFacts, expected: tuple[int, int]) -> None:
    decision = evaluate_case(facts)
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert (decision.review_priority, decision.review_sla_hours) == expected
    assert review_priority(facts) == expected


# ---- exceptions considered ------------------------------------------------------------------------------------------


def _considered(decision: Decision) -> dict[str, tuple[bool, str]]:
    return {c.exception_id: (c.applies, c.reason) for c in decision.exceptions_considered}


def test_private_media_lists_every_exception_and_factor_with_why() -> None:
    considered = _considered(evaluate_case(case(Category.PRIVATE_MEDIA, SELF, post_facts=post(eyewitness=True))))
    assert tuple(considered) == MEDIA_IDS
    assert considered["PIM-W4"] == (True, "present: a moderator weighs it")
    assert not any(applies for key, (applies, _) in considered.items() if key != "PIM-W4")
    assert all(reason for _, reason in considered.values())


def test_harassment_override_is_recorded_on_the_exception() -> None:
    facts = case(
        Category.PRIVATE_MEDIA, SELF, public_figure=True, post_facts=post(public_interest=True, harassment=True)
    )
    applies, reason = _considered(evaluate_case(facts))["PIM-X1"]
    assert not applies
    assert "harassment" in reason


def test_public_figure_exception_applies_but_weighing_decides() -> None:
    facts = case(Category.PRIVATE_MEDIA, SELF, public_figure=True, post_facts=post(public_interest=True, crisis=True))
    decision = evaluate_case(facts)
    considered = _considered(decision)
    assert considered["PIM-X1"][0] and considered["PIM-W3"][0]
    assert not considered["PIM-X2"][0]
    assert any("PIM-X1" in r for r in decision.reasons)


@pytest.mark.parametrize(
    "facts",
    [
        P(case(Category.INTIMATE_MEDIA, SELF, public_figure=True, post_facts=post(public_interest=True)), id="removed"),
        P(case(Category.INTIMATE_MEDIA, OTHER, post_facts=post(crisis=True)), id="bystander"),
    ],
)
def test_intimate_media_records_every_exception_as_not_applicable(facts: CaseFacts) -> None:
    considered = _considered(evaluate_case(facts))
    assert tuple(considered) == MEDIA_IDS
    assert all(not applies and reason.startswith("not applicable") for applies, reason in considered.values())


@pytest.mark.parametrize(
    "facts",
    [
        P(case(Category.NAME, SELF), id="out-of-scope"),
        P(case(Category.PRIVATE_MEDIA, SELF, post_facts=None), id="no-post"),
        P(case(Category.FINANCIAL_INFORMATION, SELF, post_facts=post(public_interest=True)), id="information"),
        P(case(Category.THREAT_TO_EXPOSE, SELF, post_facts=post(public_interest=True)), id="conduct"),
    ],
)
def test_no_exceptions_are_considered_outside_media(facts: CaseFacts) -> None:
    assert evaluate_case(facts).exceptions_considered == ()


# ---- statement of reasons ---------------------------------------------------------------------------------------


def test_statement_names_finding_rules_outcome_enforcement_and_appeal() -> None:
    policy = load_policy()
    statement = evaluate_case(case(Category.PRIVATE_MEDIA, SELF)).statement_of_reasons
    assert statement.startswith("What was reported: Private media.")
    assert "Rule PIM-8 (Private media shared without consent)" in statement
    assert "Enforcement rule PIM-E5 (Deletion required)" in statement
    assert policy.notices.enforcement[Enforcement.REQUIRE_REMOVAL] in statement
    assert f"{policy.strike_expiry_days} days" in statement
    assert "automated means" in statement
    assert f"within {policy.appeal_window_days} days" in statement


def test_statement_of_an_interim_outcome_promises_a_decision_instead_of_an_appeal() -> None:
    policy = load_policy()
    statement = evaluate_case(case(Category.PRIVATE_MEDIA, OTHER)).statement_of_reasons
    assert f"waits {policy.first_person_wait_days} days" in statement
    assert policy.notices.interim in statement
    assert "How to appeal" not in statement


def test_statement_of_a_kept_post_is_final() -> None:
    statement = evaluate_case(case(Category.NAME, OTHER)).statement_of_reasons
    assert "Rule PIM-1 (Not private information)" in statement
    assert "How to appeal" in statement


@pytest.mark.parametrize("facts", [p.values[0] for p in DECISIONS], ids=[p.id for p in DECISIONS])
def test_statement_and_reasons_carry_no_identifiers(facts: CaseFacts) -> None:
    decision = evaluate_case(facts)
    text = "\n".join(
        (decision.statement_of_reasons, *decision.reasons, *(c.reason for c in decision.exceptions_considered))
    )
    for secret in (CASE_ID, REPORTER_ID, "report-", "post-5d1e", "author-2b7c", "person-44aa", "account-represented"):
        assert secret not in text


# ---- the public helpers -------------------------------------------------------------------------------------------


def test_decide_enforcement_is_usable_on_its_own() -> None:
    decided = decide_enforcement(Category.CONTACT_INFORMATION, POST, None, (), NOW, load_policy())
    assert decided == EnforcementDecision(
        enforcement=Enforcement.REQUIRE_REMOVAL, issues_strike=True, rule_ids=("PIM-E5",), reasons=decided.reasons
    )
    repeat = decide_enforcement(Category.CONTACT_INFORMATION, POST, None, (strike(days_ago=3),), NOW)
    assert (repeat.enforcement, repeat.rule_ids) == (Enforcement.PERMANENT_SUSPENSION, ("PIM-E4",))
    same_case = decide_enforcement(
        Category.CONTACT_INFORMATION, POST, None, (strike(days_ago=3, case_id=CASE_ID),), NOW, case_id=CASE_ID
    )
    assert same_case.enforcement is Enforcement.REQUIRE_REMOVAL


def test_decide_enforcement_refuses_a_category_that_is_not_private() -> None:
    with pytest.raises(ValueError, match="not private information"):
        decide_enforcement(Category.NAME, POST, None, (), NOW)


def test_active_strikes_keeps_only_those_in_force() -> None:
    current, expired, future, own = (
        strike(days_ago=10),
        strike(days_ago=366),
        strike(days_ago=-2),
        strike(days_ago=5, case_id=CASE_ID),
    )
    assert active_strikes((current, expired, future, own), NOW) == (current, own)
    assert active_strikes((current, expired, future, own), NOW, exclude_case_id=CASE_ID) == (current,)


def test_an_explicit_policy_is_the_one_applied() -> None:
    amended = load_policy().model_copy(update={"version": "2027-01-01.1"})
    assert evaluate_case(case(Category.NAME, SELF), amended).policy_version == "2027-01-01.1"


# ---- automation proportionate to the claim (issue 13) --------------------------------------------------------------


@pytest.mark.parametrize("category", [*INFORMATION, Category.PRIVATE_MEDIA])
def test_a_self_declared_claim_hides_the_post_and_touches_no_account(category: Category) -> None:
    decision = evaluate_case(case(category, SELF, verified=False))
    assert (decision.outcome, decision.enforcement, decision.issues_strike) == (
        Outcome.REMOVE,
        Enforcement.HIDE_CONTENT,
        False,
    )
    assert decision.rule_ids[-1] == "PIM-A1" and not any(r.startswith("PIM-E") for r in decision.rule_ids)


def test_a_track_record_raises_what_a_claim_bears_and_unfounded_reports_lower_it() -> None:
    good = ReporterFacts(reporter_id=REPORTER_ID, upheld=3)
    raised = evaluate_case(case(Category.CONTACT_INFORMATION, SELF, verified=False, reporters=(good,)))
    assert (raised.enforcement, raised.rule_ids) == (Enforcement.REQUIRE_REMOVAL, ("PIM-12", "PIM-E5", "PIM-A3"))
    tarnished = ReporterFacts(reporter_id=REPORTER_ID, upheld=9, unfounded_recent=1)
    lowered = evaluate_case(case(Category.CONTACT_INFORMATION, SELF, verified=False, reporters=(tarnished,)))
    assert (lowered.outcome, lowered.enforcement, lowered.rule_ids) == (
        Outcome.NEEDS_REVIEW,
        Enforcement.NONE,
        ("PIM-A6",),
    )
    warned = ReporterFacts(reporter_id=REPORTER_ID, warned=True)
    assert evaluate_case(case(Category.CONTACT_INFORMATION, SELF, verified=False, reporters=(warned,))).rule_ids == (
        "PIM-A6",
    )


def test_media_claims_are_verified_only_when_the_platform_shows_the_person_in_the_media() -> None:
    not_shown = case(Category.PRIVATE_MEDIA, SELF, media_facts=(MediaFacts(media_id="media-0"),))
    not_shown = not_shown.model_copy(update={"media": (MediaFacts(media_id="media-0"),)})
    assert evaluate_case(not_shown).enforcement is Enforcement.HIDE_CONTENT
    assert evaluate_case(case(Category.PRIVATE_MEDIA, SELF)).enforcement is Enforcement.REQUIRE_REMOVAL


def test_the_reporters_statement_tells_of_the_post_never_of_the_account() -> None:
    from consent_guard.policy import reporter_rule_ids, reporter_statement

    for facts in (
        case(Category.EXTORTION, SELF),
        case(Category.PRIVATE_MEDIA, SELF, strikes=(strike(days_ago=10),)),
        case(Category.CONTACT_INFORMATION, SELF),
    ):
        decision = evaluate_case(facts)
        statement = reporter_statement(decision, facts.category)
        assert all(not r.startswith(("PIM-E", "PIM-A")) for r in reporter_rule_ids(decision))
        for word in ("suspend", "strike", "locked", "Repeat violation", "Enforcement rule", "Automation rule"):
            assert word not in statement, (word, statement)
