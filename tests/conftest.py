"""Shared fixtures: fake AWS credentials everywhere, a fake Lambda context, event files, cache hygiene."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

# never reach a real AWS account, whatever the developer's shell has
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_METRICS_NAMESPACE": "ConsentGuard",
        "POWERTOOLS_SERVICE_NAME": "consent-guard",
        "POWERTOOLS_DEV": "false",
    }
)


@dataclass
class FakeLambdaContext:
    function_name: str = "consent-guard-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:consent-guard-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def load_event(relative: str, **patch: Any) -> dict[str, Any]:
    """An events/*.json file (the same ones `sam local invoke -e` uses), with top-level fields patched."""
    event: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    event.update(patch)
    return event


@pytest.fixture(autouse=True)
def _fresh_metrics() -> Iterator[None]:
    from consent_guard.observability import metrics

    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
