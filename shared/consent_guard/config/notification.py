"""The environment of notification (NotificationFunction)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field

from consent_guard.config import _Env


class NotificationSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    sender_email: str = Field(alias="SENDER_EMAIL", pattern=r"^[^@\s]+@[^@\s]+$")


@cache
def notification_settings() -> NotificationSettings:
    return NotificationSettings.model_validate(os.environ)
