"""policy/retention.py reads the two retention figures of the policy document without its models: the same file,
the same constraints, the same answer as the whole document."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from consent_guard.policy import document
from consent_guard.policy.retention import POLICY_FILE, Retention, load_retention
from tests.unit.probe import probe


def test_the_same_file_and_the_same_figures_as_the_whole_document() -> None:
    policy = document.load_policy()
    retention = load_retention()
    assert POLICY_FILE == document.POLICY_FILE
    assert retention.version == policy.version
    assert (retention.appeal_window_days, retention.retention_days_after_appeal_window) == (
        policy.appeal_window_days,
        policy.retention_days_after_appeal_window,
    )
    assert retention.kept_for == timedelta(days=policy.appeal_window_days + policy.retention_days_after_appeal_window)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("appeal_window_days", 182),  # DSA Art. 20: at least six months
        ("appeal_window_days", "365"),  # strict, as the document: a number, not text
        ("retention_days_after_appeal_window", 0),
        ("version", "latest"),
    ],
)
def test_what_the_document_rejects_is_rejected_here_too(field: str, value: object) -> None:
    data = json.loads(POLICY_FILE.read_bytes())
    data[field] = value
    raw = json.dumps(data)
    with pytest.raises(ValidationError) as ours:
        Retention.model_validate_json(raw)
    assert {e["loc"][0] for e in ours.value.errors()} == {field}
    with pytest.raises(ValidationError):
        document.Policy.model_validate_json(raw)


def test_a_notification_is_kept_without_loading_the_whole_document() -> None:
    """The notification function's first request asks for the retention: it must not build the document's models
    (cold start; the import graph test sees only imports, this sees the first request's path)."""
    code = (
        "import json, sys\n"
        "from consent_guard.services.notifications import NotificationService\n"
        "kept = NotificationService(repository=None, email=None).retention()\n"
        "print(json.dumps([kept.days, sorted(m for m in sys.modules if m.startswith('consent_guard.policy'))]))"
    )
    days, modules = probe(code)
    assert days == load_retention().kept_for.days
    assert modules == ["consent_guard.policy", "consent_guard.policy.retention"]
