"""The environment of policy evaluation (PolicyEvaluationFunction)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field

from consent_guard.config import _Env


class EvaluationSettings(_Env):
    """Evaluation delivers what its decisions committed itself (services/delivery.InlineDelivery): it has the
    effects function's destinations, and announces to the effects queue what it does not finish."""

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    effects_queue_url: str = Field(alias="EFFECTS_QUEUE_URL", min_length=1)
    notification_queue_url: str = Field(alias="NOTIFICATION_QUEUE_URL", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


@cache
def evaluation_settings() -> EvaluationSettings:
    return EvaluationSettings.model_validate(os.environ)
