"""The environment of media matching (MediaMatchingFunction)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field

from consent_guard.config import _Env


class MatchingSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    snapshot_bucket: str = Field(alias="BANK_SNAPSHOT_BUCKET", min_length=3)


@cache
def matching_settings() -> MatchingSettings:
    return MatchingSettings.model_validate(os.environ)
