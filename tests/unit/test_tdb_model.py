"""Our model of the Transparency Database's statement rejects every invalid example of its official rules
(StatementStoreRequest / GroupedSubmissionsService::multi_rules, schema of 1 July 2025): one row per rule."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from consent_guard.models.tdb import BATCH_MAX, EEA_COUNTRIES, Keyword, Statement, StatementBatch, StatementCategory

VALID: dict[str, Any] = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"],
    "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    "incompatible_content_ground": "Terms of service, private information policy: PIM-7",
    "incompatible_content_explanation": "Intimate media shared without consent is removed.",
    "content_type": ["CONTENT_TYPE_IMAGE"],
    "category": "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "category_specification": ["KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"],
    "territorial_scope": ["AT", "DE"],
    "content_date": "2026-11-20",
    "application_date": "2026-11-25",
    "decision_facts": "The post breaks the policy on private media.",
    "source_type": "SOURCE_ARTICLE_16",
    "automated_detection": "No",
    "automated_decision": "AUTOMATED_DECISION_FULLY",
    "puid": "cg-c_abc-3",
}
ILLEGAL = {
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "incompatible_content_ground": None,
    "incompatible_content_explanation": None,
    "illegal_content_legal_ground": "A national criminal law",
    "illegal_content_explanation": "Why it is illegal",
}
REMOVED = object()  # the field is left out

# (rule, changes to VALID) - every row must be rejected
INVALID: list[tuple[str, dict[str, Any]]] = [
    ("at least one decision field (required_without_all)", {"decision_visibility": REMOVED}),
    ("at least one decision field: an empty list is none", {"decision_visibility": []}),
    ("decision_visibility in DECISION_VISIBILITIES", {"decision_visibility": ["DECISION_VISIBILITY_HIDDEN"]}),
    ("decision_visibility is an array", {"decision_visibility": "DECISION_VISIBILITY_CONTENT_REMOVED"}),
    (
        "decision_visibility_other required when DECISION_VISIBILITY_OTHER",
        {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]},
    ),
    ("decision_visibility_other excluded without DECISION_VISIBILITY_OTHER", {"decision_visibility_other": "x"}),
    (
        "decision_visibility_other max 500",
        {"decision_visibility": ["DECISION_VISIBILITY_OTHER"], "decision_visibility_other": "x" * 501},
    ),
    ("decision_monetary in DECISION_MONETARIES", {"decision_monetary": "DECISION_MONETARY_FINE"}),
    ("decision_monetary_other required_if OTHER", {"decision_monetary": "DECISION_MONETARY_OTHER"}),
    (
        "decision_monetary_other exclude_unless OTHER",
        {"decision_monetary": "DECISION_MONETARY_SUSPENSION", "decision_monetary_other": "x"},
    ),
    (
        "decision_monetary_other max 500",
        {"decision_monetary": "DECISION_MONETARY_OTHER", "decision_monetary_other": "x" * 501},
    ),
    ("decision_provision in DECISION_PROVISIONS", {"decision_provision": "DECISION_PROVISION_BLOCKED"}),
    ("decision_account in DECISION_ACCOUNTS", {"decision_account": "DECISION_ACCOUNT_LOCKED"}),
    ("account_type in ACCOUNT_TYPES", {"account_type": "ACCOUNT_TYPE_PERSONAL"}),
    ("decision_ground required", {"decision_ground": REMOVED}),
    ("decision_ground in DECISION_GROUNDS", {"decision_ground": "DECISION_GROUND_TERMS"}),
    ("decision_ground_reference_url is a url", {"decision_ground_reference_url": "our terms page"}),
    ("decision_ground_reference_url max 500", {"decision_ground_reference_url": "https://e.eu/" + "a" * 490}),
    (
        "illegal_content_legal_ground required_if ILLEGAL_CONTENT",
        {**ILLEGAL, "illegal_content_legal_ground": None},
    ),
    (
        "illegal_content_explanation required_if ILLEGAL_CONTENT",
        {**ILLEGAL, "illegal_content_explanation": None},
    ),
    ("illegal_content_legal_ground max 500", {**ILLEGAL, "illegal_content_legal_ground": "x" * 501}),
    ("illegal_content_explanation max 2000", {**ILLEGAL, "illegal_content_explanation": "x" * 2001}),
    ("illegal_content_* exclude_unless ILLEGAL_CONTENT", {"illegal_content_legal_ground": "x"}),
    ("incompatible_content_ground required_if INCOMPATIBLE_CONTENT", {"incompatible_content_ground": REMOVED}),
    (
        "incompatible_content_explanation required_if INCOMPATIBLE_CONTENT",
        {"incompatible_content_explanation": REMOVED},
    ),
    ("incompatible_content_ground max 500", {"incompatible_content_ground": "x" * 501}),
    ("incompatible_content_explanation max 2000", {"incompatible_content_explanation": "x" * 2001}),
    (
        "incompatible_content_* exclude_unless INCOMPATIBLE_CONTENT",
        {**ILLEGAL, "incompatible_content_ground": "x"},
    ),
    ("incompatible_content_illegal in Yes/No", {"incompatible_content_illegal": "yes"}),
    ("incompatible_content_illegal only with INCOMPATIBLE_CONTENT", {**ILLEGAL, "incompatible_content_illegal": "No"}),
    ("content_type required", {"content_type": REMOVED}),
    ("content_type required: not empty", {"content_type": []}),
    ("content_type in CONTENT_TYPES", {"content_type": ["CONTENT_TYPE_PHOTO"]}),
    ("content_type_other required with CONTENT_TYPE_OTHER", {"content_type": ["CONTENT_TYPE_OTHER"]}),
    ("content_type_other excluded without CONTENT_TYPE_OTHER", {"content_type_other": "a livestream"}),
    (
        "content_type_other max 500",
        {"content_type": ["CONTENT_TYPE_OTHER"], "content_type_other": "x" * 501},
    ),
    ("category required", {"category": REMOVED}),
    ("category in STATEMENT_CATEGORIES", {"category": "STATEMENT_CATEGORY_PRIVACY"}),
    (
        "category removed 1 July 2025: NON_CONSENSUAL_BEHAVIOUR",
        {"category": "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR"},
    ),
    (
        "category removed 1 July 2025: PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
        {"category": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"},
    ),
    (
        "category removed 1 July 2025: SCOPE_OF_PLATFORM_SERVICE",
        {"category": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"},
    ),
    (
        "category removed 1 July 2025: UNSAFE_AND_ILLEGAL_PRODUCTS",
        {"category": "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS"},
    ),
    ("category_addition in STATEMENT_CATEGORIES", {"category_addition": ["STATEMENT_CATEGORY_DOXXING"]}),
    ("category_specification in KEYWORDS", {"category_specification": ["KEYWORD_DOXXING"]}),
    (
        "keyword removed 1 July 2025: IMAGE_BASED_SEXUAL_ABUSE",
        {"category_specification": ["KEYWORD_IMAGE_BASED_SEXUAL_ABUSE"]},
    ),
    (
        "keyword removed 1 July 2025: NON_CONSENSUAL_ITEMS_DEEPFAKE",
        {"category_specification": ["KEYWORD_NON_CONSENSUAL_ITEMS_DEEPFAKE"]},
    ),
    (
        "keyword removed 1 July 2025: GENDER_BASED_VIOLENCE",
        {"category_specification": ["KEYWORD_GENDER_BASED_VIOLENCE"]},
    ),
    (
        "keyword removed 1 July 2025: ONLINE_BULLYING_INTIMIDATION",
        {"category_specification": ["KEYWORD_ONLINE_BULLYING_INTIMIDATION"]},
    ),
    ("keyword removed 1 July 2025: DISINFORMATION", {"category_specification": ["KEYWORD_DISINFORMATION"]}),
    (
        "keyword removed 1 July 2025: INSUFFICIENT_INFORMATION_TRADERS",
        {"category_specification": ["KEYWORD_INSUFFICIENT_INFORMATION_TRADERS"]},
    ),
    ("KEYWORD_DANGEROUS_TOYS is a constant, not in KEYWORDS", {"category_specification": ["KEYWORD_DANGEROUS_TOYS"]}),
    (
        "category_specification_other max 500",
        {"category_specification": ["KEYWORD_OTHER"], "category_specification_other": "x" * 501},
    ),
    ("category_specification_other nulled unless KEYWORD_OTHER", {"category_specification_other": "doxxing"}),
    ("territorial_scope in EUROPEAN_COUNTRY_CODES: not the US", {"territorial_scope": ["US"]}),
    ("territorial_scope in EUROPEAN_COUNTRY_CODES: not the UK since 2020", {"territorial_scope": ["GB"]}),
    ("territorial_scope in EUROPEAN_COUNTRY_CODES: upper case", {"territorial_scope": ["de"]}),
    ("territorial_scope is an array", {"territorial_scope": "DE"}),
    ("content_language in ALL_LANGUAGES", {"content_language": "XX"}),
    ("content_language upper case", {"content_language": "en"}),
    ("content_date required", {"content_date": REMOVED}),
    ("content_date date_format Y-m-d", {"content_date": "20/11/2026"}),
    ("content_date date_format Y-m-d: no time", {"content_date": "2026-11-20T10:00:00Z"}),
    ("content_date date_format Y-m-d: no timestamp", {"content_date": 1763600000}),
    ("content_date after_or_equal 2000-01-01", {"content_date": "1999-12-31"}),
    ("content_date before_or_equal 2038-01-01", {"content_date": "2038-01-02"}),
    ("application_date required", {"application_date": REMOVED}),
    ("application_date date_format Y-m-d", {"application_date": "2026-13-01"}),
    ("application_date after_or_equal 2020-01-01", {"application_date": "2019-12-31"}),
    ("application_date before_or_equal 2038-01-01", {"application_date": "2038-01-02"}),
    ("end_date_account_restriction before_or_equal 2038-01-01", {"end_date_account_restriction": "2038-01-02"}),
    ("end_date_monetary_restriction before_or_equal 2038-01-01", {"end_date_monetary_restriction": "2040-01-01"}),
    ("end_date_service_restriction date_format Y-m-d", {"end_date_service_restriction": "next week"}),
    ("end_date_visibility_restriction before_or_equal 2038-01-01", {"end_date_visibility_restriction": "2099-01-01"}),
    ("decision_facts required", {"decision_facts": REMOVED}),
    ("decision_facts required: not blank", {"decision_facts": ""}),
    ("decision_facts max 5000", {"decision_facts": "x" * 5001}),
    ("source_type required", {"source_type": REMOVED}),
    ("source_type in SOURCE_TYPES", {"source_type": "SOURCE_NOTICE"}),
    ("source_identity max 500", {"source_identity": "x" * 501}),
    ("source_identity excluded when SOURCE_VOLUNTARY", {"source_type": "SOURCE_VOLUNTARY", "source_identity": "x"}),
    ("automated_detection required", {"automated_detection": REMOVED}),
    ("automated_detection in Yes/No", {"automated_detection": "yes"}),
    ("automated_decision required", {"automated_decision": REMOVED}),
    ("automated_decision in AUTOMATED_DECISIONS", {"automated_decision": "AUTOMATED_DECISION_YES"}),
    ("automated_decision: the pre-2024 Yes/No is gone", {"automated_decision": "Yes"}),
    ("puid required", {"puid": REMOVED}),
    ("puid regex: no spaces", {"puid": "cg c_abc 3"}),
    ("puid regex: ASCII only", {"puid": "cg-été"}),
    ("puid regex: no dots or slashes", {"puid": "cg/c_abc.3"}),
    ("puid regex: no trailing newline (the D modifier)", {"puid": "cg-c_abc-3\n"}),
    ("puid max 500", {"puid": "p" * 501}),
    ("content_id only EAN-13", {"content_id": {"ISBN": "9780306406157"}}),
    ("content_id EAN-13 is 13 digits", {"content_id": {"EAN-13": "12345"}}),
    ("no field the API does not define", {"post_text": "anything"}),
]


def statement(changes: dict[str, Any]) -> dict[str, Any]:
    body = {**VALID, **changes}
    return {k: v for k, v in body.items() if v is not REMOVED and v is not None}


def test_the_base_statement_and_the_illegal_ground_variant_are_valid() -> None:
    Statement.model_validate(statement({}))
    Statement.model_validate(statement(ILLEGAL))
    Statement.model_validate(
        statement(
            {
                "decision_visibility": ["DECISION_VISIBILITY_OTHER"],
                "decision_visibility_other": "hidden behind a notice",
                "decision_monetary": "DECISION_MONETARY_OTHER",
                "decision_monetary_other": "payouts held",
                "content_type": ["CONTENT_TYPE_OTHER", "CONTENT_TYPE_TEXT"],
                "content_type_other": "a livestream",
                "category_specification": ["KEYWORD_OTHER"],
                "category_specification_other": "doxxing",
                "content_language": "EN",
                "end_date_account_restriction": "2038-01-01",
                "source_type": "SOURCE_TRUSTED_FLAGGER",
                "source_identity": "A trusted flagger",
                "puid": "p" * 500,
                "content_id": {"EAN-13": "4006381333931"},
                "incompatible_content_illegal": "Yes",
            }
        )
    )


@pytest.mark.parametrize(("rule", "changes"), INVALID, ids=[rule for rule, _ in INVALID])
def test_our_model_rejects_what_the_database_rejects(rule: str, changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        Statement.model_validate(statement(changes))
    field = rule.split()[0].rstrip(":").removesuffix("_*")
    if field.startswith(tuple(Statement.model_fields)) or field in Statement.model_fields:
        # rejected for the rule's own field, not for something else
        assert any(field in ".".join(map(str, e["loc"])) + e["msg"] for e in caught.value.errors()), caught.value


def test_errors_never_echo_the_input() -> None:
    with pytest.raises(ValidationError) as caught:
        Statement.model_validate(statement({"decision_facts": "Jane Doe " * 1000}))
    assert "Jane Doe" not in str(caught.value)


def test_the_enums_are_the_databases() -> None:
    assert len(StatementCategory) == 16
    assert len(Keyword) == 69
    assert len(EEA_COUNTRIES) == 30 and "GB" not in EEA_COUNTRIES and "NO" in EEA_COUNTRIES


@pytest.mark.parametrize("size", [0, BATCH_MAX + 1])
def test_a_batch_holds_1_to_100_statements(size: int) -> None:
    with pytest.raises(ValidationError):
        StatementBatch.model_validate({"statements": [statement({"puid": f"p-{i}"}) for i in range(size)]})
    StatementBatch.model_validate({"statements": [statement({"puid": f"p-{i}"}) for i in range(BATCH_MAX)]})


def test_the_payload_leaves_unset_fields_out_and_writes_dates_and_enums_as_strings() -> None:
    payload = Statement.model_validate(statement({})).payload()
    assert payload["content_date"] == "2026-11-20"
    assert payload["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert "decision_account" not in payload and "illegal_content_legal_ground" not in payload
    assert Statement.model_validate(payload) == Statement.model_validate(statement({}))
