"""The EU DSA Transparency Database's statement of reasons (API v1, schema of 1 July 2025), with every enum and
every conditional rule of its official validation (StatementStoreRequest / GroupedSubmissionsService).

What our model rejects, the database would reject (or silently drop): a statement is validated here before it is
stored for submission, and the local fake database (local/tdb.py) validates with this same model.
"""

# No `from __future__ import annotations` in a module of models: pydantic would eval() each field's annotation
# string when the class is created, at every cold start (~25% of the class's cost; docs/benchmarks.md, issue 18).

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Self, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

PUID_PATTERN = r"^[a-zA-Z0-9\-_]+$"
PUID_MAX = 500
BATCH_MAX = 100


class DecisionVisibility(StrEnum):
    CONTENT_REMOVED = "DECISION_VISIBILITY_CONTENT_REMOVED"
    CONTENT_DISABLED = "DECISION_VISIBILITY_CONTENT_DISABLED"
    CONTENT_DEMOTED = "DECISION_VISIBILITY_CONTENT_DEMOTED"
    CONTENT_AGE_RESTRICTED = "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"
    CONTENT_INTERACTION_RESTRICTED = "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED"
    CONTENT_LABELLED = "DECISION_VISIBILITY_CONTENT_LABELLED"
    OTHER = "DECISION_VISIBILITY_OTHER"


class DecisionMonetary(StrEnum):
    SUSPENSION = "DECISION_MONETARY_SUSPENSION"
    TERMINATION = "DECISION_MONETARY_TERMINATION"
    OTHER = "DECISION_MONETARY_OTHER"


class DecisionProvision(StrEnum):
    PARTIAL_SUSPENSION = "DECISION_PROVISION_PARTIAL_SUSPENSION"
    TOTAL_SUSPENSION = "DECISION_PROVISION_TOTAL_SUSPENSION"
    PARTIAL_TERMINATION = "DECISION_PROVISION_PARTIAL_TERMINATION"
    TOTAL_TERMINATION = "DECISION_PROVISION_TOTAL_TERMINATION"


class DecisionAccount(StrEnum):
    SUSPENDED = "DECISION_ACCOUNT_SUSPENDED"
    TERMINATED = "DECISION_ACCOUNT_TERMINATED"


class AccountType(StrEnum):
    BUSINESS = "ACCOUNT_TYPE_BUSINESS"
    PRIVATE = "ACCOUNT_TYPE_PRIVATE"


class DecisionGround(StrEnum):
    ILLEGAL_CONTENT = "DECISION_GROUND_ILLEGAL_CONTENT"
    INCOMPATIBLE_CONTENT = "DECISION_GROUND_INCOMPATIBLE_CONTENT"


class ContentType(StrEnum):
    APP = "CONTENT_TYPE_APP"
    AUDIO = "CONTENT_TYPE_AUDIO"
    IMAGE = "CONTENT_TYPE_IMAGE"
    PRODUCT = "CONTENT_TYPE_PRODUCT"
    SYNTHETIC_MEDIA = "CONTENT_TYPE_SYNTHETIC_MEDIA"
    TEXT = "CONTENT_TYPE_TEXT"
    VIDEO = "CONTENT_TYPE_VIDEO"
    OTHER = "CONTENT_TYPE_OTHER"


class StatementCategory(StrEnum):
    ANIMAL_WELFARE = "STATEMENT_CATEGORY_ANIMAL_WELFARE"
    CONSUMER_INFORMATION = "STATEMENT_CATEGORY_CONSUMER_INFORMATION"
    CYBER_VIOLENCE = "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    CYBER_VIOLENCE_AGAINST_WOMEN = "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN"
    DATA_PROTECTION_AND_PRIVACY_VIOLATIONS = "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    ILLEGAL_OR_HARMFUL_SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    INTELLECTUAL_PROPERTY_INFRINGEMENTS = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS = (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    )
    NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    OTHER_VIOLATION_TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    PROTECTION_OF_MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    RISK_FOR_PUBLIC_SECURITY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    SCAMS_AND_FRAUD = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    SELF_HARM = "STATEMENT_CATEGORY_SELF_HARM"
    UNSAFE_AND_PROHIBITED_PRODUCTS = "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE"


class Keyword(StrEnum):
    """Statement::KEYWORDS (69 values). KEYWORD_DANGEROUS_TOYS is a constant of the database but not accepted."""

    ADULT_SEXUAL_MATERIAL = "KEYWORD_ADULT_SEXUAL_MATERIAL"
    AGE_SPECIFIC_RESTRICTIONS = "KEYWORD_AGE_SPECIFIC_RESTRICTIONS"
    AGE_SPECIFIC_RESTRICTIONS_MINORS = "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS"
    ANIMAL_HARM = "KEYWORD_ANIMAL_HARM"
    BIOMETRIC_DATA_BREACH = "KEYWORD_BIOMETRIC_DATA_BREACH"
    BULLYING_AGAINST_GIRLS = "KEYWORD_BULLYING_AGAINST_GIRLS"
    CHILD_SEXUAL_ABUSE_MATERIAL = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
    CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE"
    CONTENT_PROMOTING_EATING_DISORDERS = "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS"
    COORDINATED_HARM = "KEYWORD_COORDINATED_HARM"
    COPYRIGHT_INFRINGEMENT = "KEYWORD_COPYRIGHT_INFRINGEMENT"
    CYBER_BULLYING_INTIMIDATION = "KEYWORD_CYBER_BULLYING_INTIMIDATION"
    CYBER_HARASSMENT = "KEYWORD_CYBER_HARASSMENT"
    CYBER_HARASSMENT_AGAINST_WOMEN = "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN"
    CYBER_INCITEMENT = "KEYWORD_CYBER_INCITEMENT"
    CYBER_STALKING = "KEYWORD_CYBER_STALKING"
    CYBER_STALKING_AGAINST_WOMEN = "KEYWORD_CYBER_STALKING_AGAINST_WOMEN"
    DATA_FALSIFICATION = "KEYWORD_DATA_FALSIFICATION"
    DEFAMATION = "KEYWORD_DEFAMATION"
    DESIGN_INFRINGEMENT = "KEYWORD_DESIGN_INFRINGEMENT"
    DISCRIMINATION = "KEYWORD_DISCRIMINATION"
    FEMALE_GENDERED_DISINFORMATION = "KEYWORD_FEMALE_GENDERED_DISINFORMATION"
    GEOGRAPHIC_INDICATIONS_INFRINGEMENT = "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT"
    GEOGRAPHICAL_REQUIREMENTS = "KEYWORD_GEOGRAPHICAL_REQUIREMENTS"
    GOODS_SERVICES_NOT_PERMITTED = "KEYWORD_GOODS_SERVICES_NOT_PERMITTED"
    GROOMING_SEXUAL_ENTICEMENT_MINORS = "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS"
    HATE_SPEECH = "KEYWORD_HATE_SPEECH"
    HIDDEN_ADVERTISEMENT = "KEYWORD_HIDDEN_ADVERTISEMENT"
    HUMAN_EXPLOITATION = "KEYWORD_HUMAN_EXPLOITATION"
    HUMAN_TRAFFICKING = "KEYWORD_HUMAN_TRAFFICKING"
    ILLEGAL_ORGANIZATIONS = "KEYWORD_ILLEGAL_ORGANIZATIONS"
    IMPERSONATION_ACCOUNT_HIJACKING = "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING"
    INAUTHENTIC_ACCOUNTS = "KEYWORD_INAUTHENTIC_ACCOUNTS"
    INAUTHENTIC_LISTINGS = "KEYWORD_INAUTHENTIC_LISTINGS"
    INAUTHENTIC_USER_REVIEWS = "KEYWORD_INAUTHENTIC_USER_REVIEWS"
    INCITEMENT_AGAINST_WOMEN = "KEYWORD_INCITEMENT_AGAINST_WOMEN"
    INCITEMENT_VIOLENCE_HATRED = "KEYWORD_INCITEMENT_VIOLENCE_HATRED"
    INSUFFICIENT_INFORMATION_ON_TRADERS = "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS"
    LANGUAGE_REQUIREMENTS = "KEYWORD_LANGUAGE_REQUIREMENTS"
    MISINFORMATION_DISINFORMATION = "KEYWORD_MISINFORMATION_DISINFORMATION"
    MISLEADING_INFO_CONSUMER_RIGHTS = "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS"
    MISLEADING_INFO_GOODS_SERVICES = "KEYWORD_MISLEADING_INFO_GOODS_SERVICES"
    MISSING_PROCESSING_GROUND = "KEYWORD_MISSING_PROCESSING_GROUND"
    NON_CONSENSUAL_IMAGE_SHARING = "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"
    NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN = "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN"
    NON_CONSENSUAL_MATERIAL_DEEPFAKE = "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE"
    NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN = "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN"
    NONCOMPLIANCE_PRICING = "KEYWORD_NONCOMPLIANCE_PRICING"
    NUDITY = "KEYWORD_NUDITY"
    PATENT_INFRINGEMENT = "KEYWORD_PATENT_INFRINGEMENT"
    PHISHING = "KEYWORD_PHISHING"
    PROHIBITED_PRODUCTS = "KEYWORD_PROHIBITED_PRODUCTS"
    PYRAMID_SCHEMES = "KEYWORD_PYRAMID_SCHEMES"
    RIGHT_TO_BE_FORGOTTEN = "KEYWORD_RIGHT_TO_BE_FORGOTTEN"
    RISK_ENVIRONMENTAL_DAMAGE = "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE"
    RISK_PUBLIC_HEALTH = "KEYWORD_RISK_PUBLIC_HEALTH"
    SELF_MUTILATION = "KEYWORD_SELF_MUTILATION"
    STALKING = "KEYWORD_STALKING"
    SUICIDE = "KEYWORD_SUICIDE"
    TERRORIST_CONTENT = "KEYWORD_TERRORIST_CONTENT"
    TRADE_SECRET_INFRINGEMENT = "KEYWORD_TRADE_SECRET_INFRINGEMENT"  # noqa: S105 - not a secret
    TRADEMARK_INFRINGEMENT = "KEYWORD_TRADEMARK_INFRINGEMENT"
    TRAFFICKING_WOMEN_GIRLS = "KEYWORD_TRAFFICKING_WOMEN_GIRLS"
    UNLAWFUL_SALE_ANIMALS = "KEYWORD_UNLAWFUL_SALE_ANIMALS"
    UNSAFE_CHALLENGES = "KEYWORD_UNSAFE_CHALLENGES"
    UNSAFE_PRODUCTS = "KEYWORD_UNSAFE_PRODUCTS"
    VIOLATION_EU_LAW = "KEYWORD_VIOLATION_EU_LAW"
    VIOLATION_NATIONAL_LAW = "KEYWORD_VIOLATION_NATIONAL_LAW"
    OTHER = "KEYWORD_OTHER"


class SourceType(StrEnum):
    ARTICLE_16 = "SOURCE_ARTICLE_16"
    TRUSTED_FLAGGER = "SOURCE_TRUSTED_FLAGGER"
    OTHER_NOTIFICATION = "SOURCE_TYPE_OTHER_NOTIFICATION"
    VOLUNTARY = "SOURCE_VOLUNTARY"


class AutomatedDecision(StrEnum):
    FULLY = "AUTOMATED_DECISION_FULLY"
    PARTIALLY = "AUTOMATED_DECISION_PARTIALLY"
    NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"


# EuropeanCountriesService::EUROPEAN_COUNTRY_CODES (the EEA)
EeaCountry = Literal[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
]  # fmt: skip
EEA_COUNTRIES: tuple[str, ...] = get_args(EeaCountry)

# EuropeanLanguagesService::ALL_LANGUAGES: ISO 639-1, upper case
_LANGUAGE_CODES = (
    "AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BI BS BR BG MY CA CH CE NY ZH CU CV KW CO "
    "CR HR CS DA DV NL DZ EN EO ET EE FO FJ FI FR FY FF GD GL LG KA DE EL KL GN GU HT HA HE HZ HI HO HU "
    "IS IO IG ID IA IE IU IK GA IT JA JV KN KR KS KK KM KI RW KY KV KG KO KJ KU LO LA LV LI LN LT LU LB "
    "MK MG MS ML MT GV MI MR MH MN NA NV ND NR NG NE NO NB NN II OC OJ OR OM OS PI PS FA PL PT PA QU RO "
    "RM RN RU SE SM SG SA SC SR SN SD SI SK SL SO ST ES SU SW SS SV TL TY TG TA TT TE TH BO TI TO TS TN "
    "TR TK TW UG UK UR UZ VE VI VO WA CY WO XH YI YO ZA ZU "
)
LANGUAGES = frozenset(_LANGUAGE_CODES.split())

Text500 = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Text2000 = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Puid = Annotated[str, StringConstraints(pattern=PUID_PATTERN, min_length=1, max_length=PUID_MAX)]
Url500 = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/$.?#][^\s]*$", max_length=500)]
YesNo = Literal["Yes", "No"]


def _ymd(value: object) -> object:
    """`date_format:Y-m-d`: a string YYYY-MM-DD (or a date in Python), never a timestamp or a date-time."""
    if isinstance(value, datetime) or not isinstance(value, str | date):
        raise ValueError("a date must be given as YYYY-MM-DD")
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("a date must be given as YYYY-MM-DD")
    return value


Ymd = Annotated[date, BeforeValidator(_ymd)]

CONTENT_DATE_RANGE = (date(2000, 1, 1), date(2038, 1, 1))
APPLICATION_DATE_RANGE = (date(2020, 1, 1), date(2038, 1, 1))
END_DATE_MAX = date(2038, 1, 1)


def _in_range(value: date, low: date | None, high: date, field: str) -> date:
    if (low is not None and value < low) or value > high:
        raise ValueError(f"{field} must be between {low or 'any date'} and {high}")
    return value


class Statement(BaseModel):
    """One statement of reasons as the database accepts it. Dates are serialised as YYYY-MM-DD."""

    model_config = ConfigDict(
        defer_build=True, extra="forbid", frozen=True, hide_input_in_errors=True, use_enum_values=False
    )

    decision_visibility: list[DecisionVisibility] | None = None
    decision_visibility_other: Text500 | None = None
    decision_monetary: DecisionMonetary | None = None
    decision_monetary_other: Text500 | None = None
    decision_provision: DecisionProvision | None = None
    decision_account: DecisionAccount | None = None
    account_type: AccountType | None = None

    decision_ground: DecisionGround
    decision_ground_reference_url: Url500 | None = None
    illegal_content_legal_ground: Text500 | None = None
    illegal_content_explanation: Text2000 | None = None
    incompatible_content_ground: Text500 | None = None
    incompatible_content_explanation: Text2000 | None = None
    incompatible_content_illegal: YesNo | None = None

    content_type: list[ContentType] = Field(min_length=1)
    content_type_other: Text500 | None = None
    category: StatementCategory
    category_addition: list[StatementCategory] | None = None
    category_specification: list[Keyword] | None = None
    category_specification_other: Text500 | None = None

    territorial_scope: list[EeaCountry] | None = None
    content_language: str | None = None
    content_date: Ymd
    application_date: Ymd
    end_date_account_restriction: Ymd | None = None
    end_date_monetary_restriction: Ymd | None = None
    end_date_service_restriction: Ymd | None = None
    end_date_visibility_restriction: Ymd | None = None

    decision_facts: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    source_type: SourceType
    source_identity: Text500 | None = None
    automated_detection: YesNo
    automated_decision: AutomatedDecision
    puid: Puid
    content_id: dict[Literal["EAN-13"], Annotated[str, StringConstraints(pattern=r"^[0-9]{13}$")]] | None = None

    @field_validator("content_language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and value not in LANGUAGES:
            raise ValueError("content_language must be an ISO 639-1 code in upper case")
        return value

    @field_validator("content_date")
    @classmethod
    def _content_date(cls, value: date) -> date:
        return _in_range(value, *CONTENT_DATE_RANGE, "content_date")

    @field_validator("application_date")
    @classmethod
    def _application_date(cls, value: date) -> date:
        return _in_range(value, *APPLICATION_DATE_RANGE, "application_date")

    @field_validator(
        "end_date_account_restriction",
        "end_date_monetary_restriction",
        "end_date_service_restriction",
        "end_date_visibility_restriction",
    )
    @classmethod
    def _end_date(cls, value: date | None) -> date | None:
        return None if value is None else _in_range(value, None, END_DATE_MAX, "an end date")

    @model_validator(mode="after")
    def _conditional_rules(self) -> Self:
        """The rules that tie one field to another (required_if / required_without_all / exclude_unless)."""
        if not (self.decision_visibility or self.decision_monetary or self.decision_provision or self.decision_account):
            raise ValueError(
                "at least one of decision_visibility, decision_monetary, decision_provision, decision_account"
            )
        _exactly_when(
            self.decision_visibility_other,
            DecisionVisibility.OTHER in (self.decision_visibility or []),
            "decision_visibility_other",
            "DECISION_VISIBILITY_OTHER is in decision_visibility",
        )
        _exactly_when(
            self.decision_monetary_other,
            self.decision_monetary == DecisionMonetary.OTHER,
            "decision_monetary_other",
            "decision_monetary is DECISION_MONETARY_OTHER",
        )
        _exactly_when(
            self.content_type_other,
            ContentType.OTHER in self.content_type,
            "content_type_other",
            "CONTENT_TYPE_OTHER is in content_type",
        )
        illegal = self.decision_ground == DecisionGround.ILLEGAL_CONTENT
        for name in ("illegal_content_legal_ground", "illegal_content_explanation"):
            _exactly_when(getattr(self, name), illegal, name, "decision_ground is DECISION_GROUND_ILLEGAL_CONTENT")
        for name in ("incompatible_content_ground", "incompatible_content_explanation"):
            _exactly_when(
                getattr(self, name), not illegal, name, "decision_ground is DECISION_GROUND_INCOMPATIBLE_CONTENT"
            )
        if self.incompatible_content_illegal is not None and illegal:
            raise ValueError("incompatible_content_illegal is only given with DECISION_GROUND_INCOMPATIBLE_CONTENT")
        if self.category_specification_other is not None and Keyword.OTHER not in (self.category_specification or []):
            raise ValueError(
                "category_specification_other is only kept when KEYWORD_OTHER is in category_specification"
            )
        if self.source_identity is not None and self.source_type == SourceType.VOLUNTARY:
            raise ValueError("source_identity is excluded when source_type is SOURCE_VOLUNTARY")
        return self

    def payload(self) -> dict[str, object]:
        """The JSON body of one statement: unset fields left out, enums and dates as strings."""
        return self.model_dump(mode="json", exclude_none=True)


def _exactly_when(value: object, condition: bool, name: str, when: str) -> None:
    if condition and value is None:
        raise ValueError(f"{name} is required when {when}")
    if not condition and value is not None:
        raise ValueError(f"{name} is only given when {when}")


class StatementBatch(BaseModel):
    """The body of POST /api/v1/statements: 1 to 100 statements."""

    model_config = ConfigDict(defer_build=True, extra="forbid", hide_input_in_errors=True)

    statements: list[Statement] = Field(min_length=1, max_length=BATCH_MAX)


class SubmissionStatus(StrEnum):
    PENDING = "pending"  # committed with the decision, not yet accepted by the database
    SUBMITTED = "submitted"  # accepted (201), or found already there by its puid
    REJECTED = "rejected"  # the database refused it as invalid: a bug to fix, never silently dropped


class PendingStatement(BaseModel):
    """A statement owed to the database, stored with the decision that owes it (PK CASE#<case>, SK STATEMENT#<seq>)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, hide_input_in_errors=True)

    case_id: str
    seq: int = Field(ge=1)  # the enforcement event's sequence number: one statement per restricting decision
    statement: Statement
    created_at: datetime
    status: SubmissionStatus = SubmissionStatus.PENDING
    attempts: int = 0
    tdb_uuid: str | None = None
    permalink: str | None = None
    submitted_at: datetime | None = None
    rejected_fields: tuple[str, ...] = ()  # field names the database refused (names only, never values)

    @property
    def puid(self) -> str:
        return self.statement.puid
