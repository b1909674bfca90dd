"""Environment of each function: one small model each, validated once at cold start and cached."""

from __future__ import annotations

import os
from enum import StrEnum
from functools import cache
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from consent_guard.models.tdb import EEA_COUNTRIES, AccountType


class _Env(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class IntakeSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    effects_queue_url: str = Field(alias="EFFECTS_QUEUE_URL", min_length=1)


class EvaluationSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    effects_queue_url: str = Field(alias="EFFECTS_QUEUE_URL", min_length=1)


class EffectsSettings(_Env):
    """The effects function is the one that publishes to the bus and queues notifications and evaluations."""

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    effects_queue_url: str = Field(alias="EFFECTS_QUEUE_URL", min_length=1)
    notification_queue_url: str = Field(alias="NOTIFICATION_QUEUE_URL", min_length=1)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


class NotificationSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    sender_email: str = Field(alias="SENDER_EMAIL", pattern=r"^[^@\s]+@[^@\s]+$")


class CaseApiSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    effects_queue_url: str = Field(alias="EFFECTS_QUEUE_URL", min_length=1)


class ReviewSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    effects_queue_url: str = Field(alias="EFFECTS_QUEUE_URL", min_length=1)


class SubmissionMode(StrEnum):
    """Per stage: statements are always recorded; they are sent only in sandbox or production."""

    OFF = "off"
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class StatementSettings(_Env):
    """What a statement of reasons takes from configuration (every function that decides reads it)."""

    reference_url: str | None = Field(None, alias="TDB_REFERENCE_URL", pattern=r"^https?://\S+$", max_length=500)
    territorial_scope: tuple[str, ...] = Field(EEA_COUNTRIES, alias="TDB_TERRITORIAL_SCOPE")
    account_type: AccountType | None = Field(None, alias="TDB_ACCOUNT_TYPE")

    @field_validator("reference_url", "account_type", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("territorial_scope", mode="before")
    @classmethod
    def _countries(cls, value: object) -> object:
        if isinstance(value, str):
            codes = tuple(c.strip().upper() for c in value.split(",") if c.strip())
            value = codes or EEA_COUNTRIES
        if not isinstance(value, tuple | list) or not set(value) <= set(EEA_COUNTRIES):
            raise ValueError("territorial scope: comma-separated EEA country codes (blank: the whole EEA)")
        return tuple(sorted(set(value)))


class SubmitterSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    mode: SubmissionMode = Field(SubmissionMode.OFF, alias="TDB_MODE")
    base_url: str = Field("", alias="TDB_BASE_URL", max_length=500)
    token_parameter: str = Field("", alias="TDB_TOKEN_PARAMETER", max_length=2048)
    timeout_seconds: float = Field(10.0, alias="TDB_TIMEOUT_SECONDS", gt=0, le=60)

    @model_validator(mode="after")
    def _complete_when_on(self) -> Self:
        if self.mode is SubmissionMode.OFF:
            return self
        if not self.base_url.startswith(("https://", "http://")) or not self.token_parameter:
            raise ValueError("TDB_BASE_URL and TDB_TOKEN_PARAMETER are required when TDB_MODE is not off")
        if self.mode is SubmissionMode.PRODUCTION and not self.base_url.startswith("https://"):
            raise ValueError("production submits over https only")
        return self


@cache
def statement_settings() -> StatementSettings:
    return StatementSettings.model_validate(os.environ)


@cache
def submitter_settings() -> SubmitterSettings:
    return SubmitterSettings.model_validate(os.environ)


@cache
def intake_settings() -> IntakeSettings:
    return IntakeSettings.model_validate(os.environ)


@cache
def evaluation_settings() -> EvaluationSettings:
    return EvaluationSettings.model_validate(os.environ)


@cache
def effects_settings() -> EffectsSettings:
    return EffectsSettings.model_validate(os.environ)


@cache
def notification_settings() -> NotificationSettings:
    return NotificationSettings.model_validate(os.environ)


@cache
def case_api_settings() -> CaseApiSettings:
    return CaseApiSettings.model_validate(os.environ)


@cache
def review_settings() -> ReviewSettings:
    return ReviewSettings.model_validate(os.environ)


def clear_settings_cache() -> None:
    """Tests change the environment between cases."""
    for fn in (
        intake_settings,
        evaluation_settings,
        effects_settings,
        notification_settings,
        case_api_settings,
        review_settings,
        statement_settings,
        submitter_settings,
    ):
        fn.cache_clear()
