"""The policy's mapping to the Transparency Database: complete, checked at load, and every restricting decision it can
produce becomes a statement our model of the database accepts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from consent_guard.models.domain import Category, Enforcement, MediaType
from consent_guard.models.tdb import EEA_COUNTRIES, AccountType, Statement
from consent_guard.policy import Policy, load_policy
from consent_guard.policy.document import POLICY_FILE
from consent_guard.policy.transparency import StatementConfig, StatementInput, build_statement, puid_for

POLICY = load_policy()
IN_SCOPE = sorted(c for c in Category if POLICY.index.categories[c].in_scope)
ENFORCEMENTS = sorted({rung.enforcement for rung in POLICY.enforcement_ladder})
DECIDED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def facts(**changes: Any) -> StatementInput:
    base: dict[str, Any] = {
        "decision_id": "c_abc-3",
        "category": Category.INTIMATE_MEDIA,
        "enforcement": Enforcement.REQUIRE_REMOVAL,
        "rule_ids": ("PIM-7", "PIM-E5"),
        "issues_strike": True,
        "automated": True,
        "trusted_flagger": False,
        "own_detection": False,
        "media_types": (MediaType.PHOTO,),
        "content_created_at": datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        "decided_at": DECIDED,
    }
    return StatementInput(**{**base, **changes})


def policy_with(change: Any) -> Policy:
    document = json.loads(POLICY_FILE.read_text())
    change(document["transparency_database"])
    return Policy.model_validate_json(json.dumps(document))


@given(
    category=st.sampled_from(IN_SCOPE),
    enforcement=st.sampled_from(ENFORCEMENTS),
    automated=st.booleans(),
    trusted_flagger=st.booleans(),
    own_detection=st.booleans(),
    media=st.lists(st.sampled_from(list(MediaType)), max_size=3),
    strike=st.booleans(),
)
def test_every_restricting_decision_becomes_a_valid_statement(
    category: Category,
    enforcement: Enforcement,
    automated: bool,
    trusted_flagger: bool,
    own_detection: bool,
    media: list[MediaType],
    strike: bool,
) -> None:
    statement = build_statement(
        facts(
            category=category,
            enforcement=enforcement,
            automated=automated,
            trusted_flagger=trusted_flagger,
            own_detection=own_detection,
            media_types=tuple(media),
            issues_strike=strike,
        ),
        POLICY,
        StatementConfig(),
    )
    Statement.model_validate(statement.payload())  # and back again, as the database reads it
    assert statement.decision_facts and len(statement.decision_facts) <= 5000
    assert statement.puid == "cg-c_abc-3"


def test_private_media_is_cyber_violence_with_non_consensual_image_sharing() -> None:
    statement = build_statement(facts(), POLICY, StatementConfig(reference_url="https://example.eu/terms"))
    assert statement.category.value == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert [k.value for k in statement.category_specification or []] == ["KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"]
    assert [v.value for v in statement.content_type] == ["CONTENT_TYPE_IMAGE"]
    assert statement.decision_ground.value == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert statement.incompatible_content_ground == (
        f"Terms of service, policy on private information and private media (version {POLICY.version}): PIM-7, PIM-E5"
    )
    assert statement.decision_ground_reference_url == "https://example.eu/terms"
    assert statement.source_type.value == "SOURCE_ARTICLE_16" and statement.automated_detection == "No"
    assert statement.automated_decision.value == "AUTOMATED_DECISION_FULLY"
    assert [v.value for v in statement.decision_visibility or []] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert statement.decision_provision is not None and statement.decision_account is None
    assert statement.content_date == date(2026, 11, 20) and statement.application_date == date(2026, 11, 25)
    assert statement.territorial_scope == list(EEA_COUNTRIES)
    assert statement.end_date_visibility_restriction is None  # indefinite: until deleted or an appeal is won


def test_doxxing_is_a_privacy_violation_with_its_specification_and_text_content() -> None:
    statement = build_statement(
        facts(category=Category.HOME_ADDRESS_OR_LOCATION, media_types=(), automated=False, trusted_flagger=True),
        POLICY,
        StatementConfig(territorial_scope=("DE", "AT"), account_type=AccountType.PRIVATE),
    )
    assert statement.category.value == "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    assert [k.value for k in statement.category_specification or []] == ["KEYWORD_OTHER"]
    assert statement.category_specification_other and "doxxing" in statement.category_specification_other
    assert [c.value for c in statement.category_addition or []] == ["STATEMENT_CATEGORY_CYBER_VIOLENCE"]
    assert [v.value for v in statement.content_type] == ["CONTENT_TYPE_TEXT"]
    assert statement.source_type.value == "SOURCE_TRUSTED_FLAGGER"
    assert statement.automated_decision.value == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert statement.territorial_scope == ["AT", "DE"] and statement.account_type is AccountType.PRIVATE


def test_a_permanent_suspension_terminates_the_account_and_own_detection_is_voluntary() -> None:
    statement = build_statement(
        facts(enforcement=Enforcement.PERMANENT_SUSPENSION, own_detection=True, media_types=(MediaType.VIDEO,)),
        POLICY,
        StatementConfig(),
    )
    assert statement.decision_account is not None and statement.decision_account.value == "DECISION_ACCOUNT_TERMINATED"
    assert statement.source_type.value == "SOURCE_VOLUNTARY" and statement.automated_detection == "Yes"
    assert statement.source_identity is None
    assert [v.value for v in statement.content_type] == ["CONTENT_TYPE_VIDEO"]


def test_a_temporary_measure_has_its_end_date() -> None:
    def temporary(mapping: dict[str, Any]) -> None:
        mapping["enforcement"]["require_removal"]["provision_days"] = 30

    statement = build_statement(facts(), policy_with(temporary), StatementConfig())
    assert statement.end_date_service_restriction == date(2026, 12, 25)
    assert statement.end_date_visibility_restriction is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["categories"].pop("extortion"), "without a transparency database mapping"),
        (lambda m: m["categories"]["extortion"].pop("specification_other"), "KEYWORD_OTHER"),
        (lambda m: m["categories"]["private_media"].update(keywords=["KEYWORD_IMAGE_BASED_SEXUAL_ABUSE"]), "keywords"),
        (lambda m: m["categories"].update(name=m["categories"]["extortion"]), "can never be removed"),
        (lambda m: m["enforcement"].pop("permanent_suspension"), "enforcement without"),
        (lambda m: m.update(ground="DECISION_GROUND_ILLEGAL_CONTENT"), "INCOMPATIBLE_CONTENT"),
        (lambda m: m["media"].pop("video"), "media types"),
        (lambda m: m["enforcement"]["require_removal"].update(account_days=3), "account_days without account"),
        (
            lambda m: m["categories"]["private_media"].update(category="STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR"),
            "category",
        ),
    ],
)
def test_the_policy_does_not_load_with_a_broken_mapping(change: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        policy_with(change)


def test_the_puid_is_deterministic_and_within_the_pattern() -> None:
    assert puid_for("c_abc-3") == puid_for("c_abc-3") == "cg-c_abc-3"
    with pytest.raises(ValueError, match="too long"):
        puid_for("x" * 500)
