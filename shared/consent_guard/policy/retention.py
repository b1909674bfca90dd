"""How long a record that can be contested is kept: the two figures of the policy document it depends on.

A function that only stores records (the notification function) needs the appeal window and the retention after it,
not the whole document: `Policy` is some 26 models and the transparency mapping, and building and validating them
is cold start it would pay for two integers. This reads the same file (private_information.json) with the same
constraints on those two fields; the whole document is still checked wherever it is loaded (every deciding
function, and tests/unit/test_policy_document.py before deployment), and tests/unit/test_policy_retention.py holds
the two readings equal.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

POLICY_FILE = Path(__file__).with_name("private_information.json")


class Retention(BaseModel):
    model_config = ConfigDict(defer_build=True, strict=True, extra="ignore", frozen=True)

    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}\.\d+$")
    appeal_window_days: int = Field(ge=183)  # DSA Art. 20: complaints open for at least six months
    retention_days_after_appeal_window: PositiveInt

    @property
    def kept_for(self) -> timedelta:
        """As long as a decision can be appealed, then the policy's retention (a statement of reasons must stay
        readable while it can be contested)."""
        return timedelta(days=self.appeal_window_days + self.retention_days_after_appeal_window)


@functools.cache
def load_retention() -> Retention:
    """The deployed policy's retention figures, read once per process."""
    return Retention.model_validate_json(POLICY_FILE.read_bytes())
