"""The environment of the bank indexer (BankIndexFunction)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field

from consent_guard.config import _Env


class IndexerSettings(_Env):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    snapshot_bucket: str = Field(alias="BANK_SNAPSHOT_BUCKET", min_length=3)


@cache
def indexer_settings() -> IndexerSettings:
    return IndexerSettings.model_validate(os.environ)
