"""The environment of the scheduled re-review (ScheduledReviewFunction)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field

from consent_guard.config import _Env


class ReviewSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    effects_queue_url: str = Field(alias="EFFECTS_QUEUE_URL", min_length=1)


@cache
def review_settings() -> ReviewSettings:
    return ReviewSettings.model_validate(os.environ)
