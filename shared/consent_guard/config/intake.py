"""The environment of report intake (ReportIntakeFunction)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field

from consent_guard.config import _Env


class IntakeSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    effects_queue_url: str = Field(alias="EFFECTS_QUEUE_URL", min_length=1)
    matching_queue_url: str = Field(alias="MATCHING_QUEUE_URL", min_length=1)


@cache
def intake_settings() -> IntakeSettings:
    return IntakeSettings.model_validate(os.environ)
