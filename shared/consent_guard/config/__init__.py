"""Environment of each function: one small model each, validated once at cold start and cached.

Each function's model lives in its own module (`consent_guard.config.<function>`) and is loaded on first access
through this package (`from consent_guard.config import evaluation_settings` imports `config.evaluation` only): a
model class costs its creation at import even with `defer_build`, so a function's cold start creates its own
settings model and not the eight others (docs/benchmarks.md, issue 18).
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from consent_guard.config.case_api import CaseApiSettings, case_api_settings
    from consent_guard.config.effects import EffectsSettings, effects_settings
    from consent_guard.config.evaluation import EvaluationSettings, evaluation_settings
    from consent_guard.config.indexer import IndexerSettings, indexer_settings
    from consent_guard.config.intake import IntakeSettings, intake_settings
    from consent_guard.config.matching import MatchingSettings, matching_settings
    from consent_guard.config.notification import NotificationSettings, notification_settings
    from consent_guard.config.review import ReviewSettings, review_settings
    from consent_guard.config.submitter import SubmissionMode, SubmitterSettings, submitter_settings


class _Env(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore", populate_by_name=True)


# public name -> the module of this package that defines it
_MODULES = {
    "IntakeSettings": "intake",
    "intake_settings": "intake",
    "MatchingSettings": "matching",
    "matching_settings": "matching",
    "IndexerSettings": "indexer",
    "indexer_settings": "indexer",
    "EvaluationSettings": "evaluation",
    "evaluation_settings": "evaluation",
    "EffectsSettings": "effects",
    "effects_settings": "effects",
    "NotificationSettings": "notification",
    "notification_settings": "notification",
    "CaseApiSettings": "case_api",
    "case_api_settings": "case_api",
    "ReviewSettings": "review",
    "review_settings": "review",
    "SubmissionMode": "submitter",
    "SubmitterSettings": "submitter",
    "submitter_settings": "submitter",
}
_GETTERS = [name for name in _MODULES if name.endswith("_settings")]

__all__ = [
    "CaseApiSettings",
    "EffectsSettings",
    "EvaluationSettings",
    "IndexerSettings",
    "IntakeSettings",
    "MatchingSettings",
    "NotificationSettings",
    "ReviewSettings",
    "SubmissionMode",
    "SubmitterSettings",
    "case_api_settings",
    "clear_settings_cache",
    "effects_settings",
    "evaluation_settings",
    "indexer_settings",
    "intake_settings",
    "matching_settings",
    "notification_settings",
    "review_settings",
    "submitter_settings",
]


def __getattr__(name: str) -> Any:
    """A public name of the package, from its module (imported on first access; PEP 562)."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def clear_settings_cache() -> None:
    """Tests change the environment between cases: every settings cache loaded so far starts again."""
    for name in _GETTERS:
        module = sys.modules.get(f"{__name__}.{_MODULES[name]}")
        if module is not None:
            getattr(module, name).cache_clear()
    # the statement settings live apart (consent_guard.statement_config), loaded only where statements are made
    statement_config = sys.modules.get("consent_guard.statement_config")
    if statement_config is not None:
        statement_config.statement_settings.cache_clear()
