"""What a statement of reasons takes from configuration (every function that decides reads it).

Apart from consent_guard.config because it needs the statement vocabulary (models.tdb), which the functions that
never decide (notification, the HTTP intake's plain paths) need not load at cold start."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field, field_validator

from consent_guard.config import _Env
from consent_guard.models.tdb import EEA_COUNTRIES, AccountType


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


@cache
def statement_settings() -> StatementSettings:
    return StatementSettings.model_validate(os.environ)
