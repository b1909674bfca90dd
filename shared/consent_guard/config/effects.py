"""The environment of effect delivery (EffectsFunction)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field

from consent_guard.config import _Env


class EffectsSettings(_Env):
    """The effects function delivers every kind of effect: it publishes to the bus and queues notifications and
    evaluations (the evaluation function delivers only the immediate ones its own decisions committed)."""

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    effects_queue_url: str = Field(alias="EFFECTS_QUEUE_URL", min_length=1)
    notification_queue_url: str = Field(alias="NOTIFICATION_QUEUE_URL", min_length=1)
    evaluation_queue_url: str = Field(alias="EVALUATION_QUEUE_URL", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


@cache
def effects_settings() -> EffectsSettings:
    return EffectsSettings.model_validate(os.environ)
