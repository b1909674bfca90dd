"""Environment of each function: one small model each, validated once at cold start and cached."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class _Env(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class IntakeSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    matching_queue_url: str = Field(alias="MATCHING_QUEUE_URL", min_length=1)


class MatchingSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    snapshot_bucket: str = Field(alias="BANK_SNAPSHOT_BUCKET", min_length=3)


class IndexerSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    snapshot_bucket: str = Field(alias="BANK_SNAPSHOT_BUCKET", min_length=3)


class EvaluationSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    notification_queue_url: str = Field(alias="NOTIFICATION_QUEUE_URL", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


class NotificationSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    sender_email: str = Field(alias="SENDER_EMAIL", pattern=r"^[^@\s]+@[^@\s]+$")


class CaseApiSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    notification_queue_url: str = Field(alias="NOTIFICATION_QUEUE_URL", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


class ReviewSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    notification_queue_url: str = Field(alias="NOTIFICATION_QUEUE_URL", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


@cache
def intake_settings() -> IntakeSettings:
    return IntakeSettings.model_validate(os.environ)


@cache
def evaluation_settings() -> EvaluationSettings:
    return EvaluationSettings.model_validate(os.environ)


@cache
def notification_settings() -> NotificationSettings:
    return NotificationSettings.model_validate(os.environ)


@cache
def case_api_settings() -> CaseApiSettings:
    return CaseApiSettings.model_validate(os.environ)


@cache
def review_settings() -> ReviewSettings:
    return ReviewSettings.model_validate(os.environ)


@cache
def matching_settings() -> MatchingSettings:
    return MatchingSettings.model_validate(os.environ)


@cache
def indexer_settings() -> IndexerSettings:
    return IndexerSettings.model_validate(os.environ)


def clear_settings_cache() -> None:
    """Tests change the environment between cases."""
    for fn in (
        intake_settings,
        evaluation_settings,
        notification_settings,
        case_api_settings,
        review_settings,
        matching_settings,
        indexer_settings,
    ):
        fn.cache_clear()
