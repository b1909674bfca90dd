"""consent_guard.config: one settings model per function, each in its own module, loaded on first access."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import consent_guard.config as config
from tests.unit.probe import probe


def test_every_public_name_comes_from_its_own_module() -> None:
    for name in config.__all__:
        if name == "clear_settings_cache":
            continue
        value = getattr(config, name)
        assert value.__module__ == f"consent_guard.config.{config._MODULES[name]}", name
    assert set(config.__all__) <= set(dir(config))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = config.nope
    with pytest.raises(ImportError):
        from consent_guard.config import nope  # type: ignore[attr-defined]  # noqa: F401


def test_importing_one_getter_loads_only_its_module() -> None:
    code = (
        "import json, sys\n"
        "from consent_guard.config import evaluation_settings\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('consent_guard.config'))))"
    )
    assert probe(code) == ["consent_guard.config", "consent_guard.config.evaluation"]


def test_settings_are_read_once_and_cleared_for_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "first-table")
    monkeypatch.setenv("EFFECTS_QUEUE_URL", "https://sqs.example/effects")
    monkeypatch.setenv("NOTIFICATION_QUEUE_URL", "https://sqs.example/notifications")
    monkeypatch.setenv("EVENT_BUS_NAME", "bus")
    config.clear_settings_cache()
    assert config.evaluation_settings().table_name == "first-table"
    monkeypatch.setenv("TABLE_NAME", "second-table")
    assert config.evaluation_settings().table_name == "first-table"  # cached: validated once per process
    config.clear_settings_cache()
    assert config.evaluation_settings().table_name == "second-table"
    config.clear_settings_cache()


def test_a_bad_environment_names_the_variables() -> None:
    with pytest.raises(ValidationError) as raised:
        config.NotificationSettings.model_validate({"TABLE_NAME": "t", "SENDER_EMAIL": "not an address"})
    assert {e["loc"][0] for e in raised.value.errors()} == {"TABLE_NAME", "SENDER_EMAIL"}


def test_the_submitter_needs_its_database_when_on() -> None:
    off = config.SubmitterSettings.model_validate({"TABLE_NAME": "table"})
    assert off.mode is config.SubmissionMode.OFF
    with pytest.raises(ValidationError, match="TDB_BASE_URL and TDB_TOKEN_PARAMETER are required"):
        config.SubmitterSettings.model_validate({"TABLE_NAME": "table", "TDB_MODE": "sandbox"})
    with pytest.raises(ValidationError, match="https only"):
        config.SubmitterSettings.model_validate(
            {"TABLE_NAME": "table", "TDB_MODE": "production", "TDB_BASE_URL": "http://x", "TDB_TOKEN_PARAMETER": "p"}
        )
