"""AWS clients: plain botocore clients from one botocore session per process, built lazily, with explicit retries.

boto3 is not used: its client is botocore's client, and importing it (with s3transfer under it) costs ~60 modules
of cold start for resources and transfers we never use (bench/marginal.py, docs/benchmarks.md). The repository
package remains the only code that builds a DynamoDB client (consent_guard.repository.base.dynamodb_client).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import botocore.session
from botocore.config import Config

# The services the layer builds clients of: `make build` writes their slim botocore data (models without
# documentation, the endpoint table cut to them: local/botocore_data.py) into the built layer, next to this module.
SERVICES = ("dynamodb", "events", "s3", "sesv2", "sqs", "ssm")
SLIM_DATA_DIR = "botocore_data"
_slim_data = Path(__file__).with_name(SLIM_DATA_DIR)

# Bounded, explicit retries: botocore's default mode is still "legacy" (10 attempts for DynamoDB).
SDK_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)

_lock = threading.Lock()  # a botocore session is not safe to build clients from in several threads at once
_session: list[botocore.session.Session] = []


def session() -> botocore.session.Session:
    """The process's botocore session; in a built layer, its loader reads the slim data first."""
    if not _session:
        created = botocore.session.get_session()
        if _slim_data.is_dir():  # absent in the source tree (tests, the local stack) and after a plain `sam build`
            created.get_component("data_loader").search_paths.insert(0, str(_slim_data))
        _session.append(created)
    return _session[0]


def client(service: str) -> Any:
    """A new client of the process's session (callers cache it: one per service and process)."""
    if service not in SERVICES:
        raise ValueError(f"{service!r} is not in consent_guard.aws.SERVICES (add it there, for its slim data)")
    with _lock:
        return session().create_client(service, config=SDK_CONFIG)
