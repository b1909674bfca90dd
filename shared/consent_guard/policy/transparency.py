"""The policy's mapping to the EU Transparency Database, and the pure function that turns a decision into the
statement of reasons the database receives (DSA Art. 24(5)).

The mapping is policy data (private_information.json, `transparency_database`), versioned with the policy. A
statement is built from the policy's own text, the case's category and rule ids, the post's media types and dates,
and configuration: never from report descriptions, notes, post text or the ids of people.
"""

# No `from __future__ import annotations` in a module of models: pydantic would eval() each field's annotation
# string when the class is created, at every cold start (~25% of the class's cost; docs/benchmarks.md, issue 18).

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from consent_guard.models.domain import Category, Enforcement, MediaType, Outcome
from consent_guard.models.tdb import (
    EEA_COUNTRIES,
    PUID_MAX,
    AccountType,
    AutomatedDecision,
    ContentType,
    DecisionAccount,
    DecisionGround,
    DecisionProvision,
    DecisionVisibility,
    Keyword,
    SourceType,
    Statement,
    StatementCategory,
)

if TYPE_CHECKING:
    from consent_guard.policy.document import Policy

PUID_PREFIX = "cg-"
Text = Annotated[str, Field(min_length=1)]


class _Doc(BaseModel):
    model_config = ConfigDict(defer_build=True, strict=False, extra="forbid", frozen=True)


class CategoryMapping(_Doc):
    category: StatementCategory
    keywords: tuple[Keyword, ...] = Field(min_length=1)
    specification_other: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    category_addition: tuple[StatementCategory, ...] = ()

    @model_validator(mode="after")
    def _other_exactly_with_keyword_other(self) -> Self:
        if (Keyword.OTHER in self.keywords) != (self.specification_other is not None):
            raise ValueError("specification_other is given exactly when KEYWORD_OTHER is one of the keywords")
        if self.category in self.category_addition:
            raise ValueError("category_addition repeats the category")
        return self


class MeasureMapping(_Doc):
    """What one enforcement level is in the database's terms. `*_days`: a temporary measure's length (its end
    date is the application date plus it); None is indefinite (until the post is deleted or an appeal is won)."""

    visibility: tuple[DecisionVisibility, ...] = ()
    visibility_days: PositiveInt | None = None
    provision: DecisionProvision | None = None
    provision_days: PositiveInt | None = None
    account: DecisionAccount | None = None
    account_days: PositiveInt | None = None

    @model_validator(mode="after")
    def _restricts_something(self) -> Self:
        if not (self.visibility or self.provision or self.account):
            raise ValueError("a measure maps to at least one of visibility, provision, account")
        for name in ("visibility", "provision", "account"):
            if getattr(self, f"{name}_days") is not None and not getattr(self, name):
                raise ValueError(f"{name}_days without {name}")
        return self


class SourceMapping(_Doc):
    notice: SourceType  # a notice under Art. 16
    trusted_flagger: SourceType  # a notice from a trusted flagger (Art. 22)
    own_detection: SourceType  # our own initiative, e.g. a hash match of known media


class AutomationMapping(_Doc):
    system: AutomatedDecision  # decided by the policy engine alone
    person: AutomatedDecision  # decided by a moderator or appeal reviewer (also on an automatically routed case)
    person_reason: Text  # why, shown in docs/policy.md


class TransparencyMapping(_Doc):
    ground: DecisionGround
    ground_title: Text  # the contractual ground, e.g. "Terms of service: ... policy"
    categories: dict[Category, CategoryMapping]
    enforcement: dict[Enforcement, MeasureMapping]
    sources: SourceMapping
    automation: AutomationMapping
    media: dict[MediaType, ContentType]
    text_for_kinds: tuple[str, ...]  # categories of these kinds (information, conduct) are text content

    @model_validator(mode="after")
    def _ground_is_contractual(self) -> Self:
        if self.ground is not DecisionGround.INCOMPATIBLE_CONTENT:
            raise ValueError("the policy is a term of service: its ground is DECISION_GROUND_INCOMPATIBLE_CONTENT")
        if Enforcement.NONE in self.enforcement:
            raise ValueError("enforcement none restricts nothing and has no statement")
        if missing := [m.value for m in MediaType if m not in self.media]:
            raise ValueError(f"media types without a content type: {', '.join(missing)}")
        return self

    def check_against(self, policy: "Policy") -> None:
        """Every category that can be removed and every enforcement the ladder applies has its mapping."""
        removable = {spec.id for spec in policy.categories if spec.in_scope}
        if missing := sorted(c.value for c in removable if c not in self.categories):
            raise ValueError(f"categories without a transparency database mapping: {', '.join(missing)}")
        if extra := sorted(c.value for c in self.categories if c not in removable):
            raise ValueError(f"mapped categories that can never be removed: {', '.join(extra)}")
        kinds = {spec.kind.value for spec in policy.categories}
        if unknown := sorted(set(self.text_for_kinds) - kinds):
            raise ValueError(f"text_for_kinds names unknown category kinds: {', '.join(unknown)}")
        applied = {rung.enforcement for rung in policy.enforcement_ladder}
        if missing := sorted(e.value for e in applied if e not in self.enforcement):
            raise ValueError(f"enforcement without a transparency database mapping: {', '.join(missing)}")


# ---------------------------------------------------------------- the statement


@dataclass(frozen=True)
class StatementConfig:
    """What the statement takes from configuration (template parameters), not from the case."""

    reference_url: str | None = None  # the terms of service relied on
    territorial_scope: tuple[str, ...] = EEA_COUNTRIES  # where the measure applies (the docs say: always send it)
    account_type: AccountType | None = None  # when the platform knows (and says) it


@dataclass(frozen=True)
class StatementInput:
    """The non-personal facts of one restricting decision. `decision_id` is ours (case id and the sequence number of
    the enforcement event), not a person's."""

    decision_id: str
    category: Category
    enforcement: Enforcement
    rule_ids: tuple[str, ...]
    issues_strike: bool
    automated: bool  # decided by the engine alone
    trusted_flagger: bool  # a trusted flagger's notice is among the case's reports
    own_detection: bool  # detected on our own initiative (no notice)
    media_types: tuple[MediaType, ...]
    content_created_at: datetime
    decided_at: datetime


def puid_for(decision_id: str) -> str:
    puid = f"{PUID_PREFIX}{decision_id}"
    if len(puid) > PUID_MAX:
        raise ValueError("decision id too long for a puid")
    return puid


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def build_statement(facts: StatementInput, policy: "Policy", config: StatementConfig) -> Statement:
    """The statement of reasons for one restricting decision, validated against the database's rules."""
    mapping = policy.transparency_database
    index = policy.index
    spec = index.categories[facts.category]
    category = mapping.categories[facts.category]
    measure = mapping.enforcement[facts.enforcement]
    rules = [r for r in facts.rule_ids if r in index.texts]
    applied = facts.decided_at.date()

    def end(days: int | None) -> date | None:
        return applied + timedelta(days=days) if days else None

    content_types = {mapping.media[m] for m in facts.media_types}
    if spec.kind.value in mapping.text_for_kinds or not content_types:
        content_types.add(ContentType.TEXT)

    explanation = " ".join(f"{index.headings[r]}: {index.texts[r]}" for r in rules)
    facts_parts = [
        f"Reported and found: {spec.label}. {spec.description}",
        *(f"{index.headings[r]}: {index.texts[r]}" for r in rules),
        f"Measure: {index.outcome_texts[Outcome.REMOVE]}",
        index.enforcement_texts[facts.enforcement],
    ]
    if facts.issues_strike:
        facts_parts.append(index.strike_text)
    facts_parts.append(index.automated_text if facts.automated else index.human_text)
    if facts.own_detection:
        source = mapping.sources.own_detection
    elif facts.trusted_flagger:
        source = mapping.sources.trusted_flagger
    else:
        source = mapping.sources.notice
    return Statement.model_validate(
        {
            "decision_visibility": list(measure.visibility) or None,
            "decision_provision": measure.provision,
            "decision_account": measure.account,
            "end_date_visibility_restriction": end(measure.visibility_days),
            "end_date_service_restriction": end(measure.provision_days),
            "end_date_account_restriction": end(measure.account_days),
            "account_type": config.account_type,
            "decision_ground": mapping.ground,
            "decision_ground_reference_url": config.reference_url,
            "incompatible_content_ground": _clip(
                f"{mapping.ground_title} (version {policy.version}): {', '.join(rules)}", 500
            ),
            "incompatible_content_explanation": _clip(explanation, 2000),
            "content_type": sorted(content_types),
            "category": category.category,
            "category_addition": list(category.category_addition) or None,
            "category_specification": list(category.keywords),
            "category_specification_other": category.specification_other,
            "territorial_scope": sorted(config.territorial_scope),
            "content_date": max(facts.content_created_at.date(), _CONTENT_MIN),
            "application_date": applied,
            "decision_facts": _clip("\n".join(facts_parts), 5000),
            "source_type": source,
            "automated_detection": "Yes" if facts.own_detection else "No",
            "automated_decision": mapping.automation.system if facts.automated else mapping.automation.person,
            "puid": puid_for(facts.decision_id),
        }
    )


_CONTENT_MIN = datetime(2000, 1, 1).date()
