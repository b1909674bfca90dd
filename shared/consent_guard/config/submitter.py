"""The environment of the statement submitter (StatementSubmitterFunction)."""

from __future__ import annotations

import os
from enum import StrEnum
from functools import cache
from typing import Self

from pydantic import Field, model_validator

from consent_guard.config import _Env


class SubmissionMode(StrEnum):
    """Per stage: statements are always recorded; they are sent only in sandbox or production."""

    OFF = "off"
    SANDBOX = "sandbox"
    PRODUCTION = "production"


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
def submitter_settings() -> SubmitterSettings:
    return SubmitterSettings.model_validate(os.environ)
