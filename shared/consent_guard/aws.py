"""AWS clients: plain botocore clients from one botocore session per process, built lazily, with explicit retries.

boto3 is not used: its client is botocore's client, and importing it (with s3transfer under it) costs ~60 modules
of cold start for resources and transfers we never use (bench/marginal.py, docs/benchmarks.md). The repository
package remains the only code that builds a DynamoDB client (consent_guard.repository.base.dynamodb_client).
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.session
from botocore.config import Config

# Bounded, explicit retries: botocore's default mode is still "legacy" (10 attempts for DynamoDB).
SDK_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)

_lock = threading.Lock()  # a botocore session is not safe to build clients from in several threads at once
_session: list[botocore.session.Session] = []


def client(service: str) -> Any:
    """A new client of the process's session (callers cache it: one per service and process)."""
    with _lock:
        if not _session:
            _session.append(botocore.session.get_session())
        return _session[0].create_client(service, config=SDK_CONFIG)
