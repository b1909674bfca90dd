"""HTTP client of the EU DSA Transparency Database API (stdlib http.client: no dependency, small cold start).

429, 5xx, timeouts and dropped connections are retried with capped exponential backoff and full jitter (honouring
Retry-After); anything else is answered to the caller. The API token is read from SSM Parameter Store (SecureString)
once per warm container and is never logged, put in an environment variable or in an error.
"""

from __future__ import annotations

import http.client
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from consent_guard import aws
from consent_guard.observability import logger

USER_AGENT = "consent-guard-statement-submitter/1"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class TdbUnavailable(Exception):
    """The database did not answer usefully after every retry (429, 5xx, timeouts): try again on the next run."""


class TdbUnauthorized(Exception):
    """401/403: the token is wrong, expired or was replaced by a newly generated one. Needs a person."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


Transport = Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, bytes, dict[str, str]]]


def http_transport(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[int, bytes, dict[str, str]]:
    """One request, no redirects followed (the existing-puid check answers 302)."""
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@cache
def ssm_client() -> Any:
    return aws.client("ssm")


@cache
def api_token(parameter_name: str) -> str:
    """The token, decrypted, once per warm container. A failure raises without the value."""
    try:
        response = ssm_client().get_parameter(Name=parameter_name, WithDecryption=True)
    except (ClientError, BotoCoreError) as exc:
        raise TdbUnauthorized(f"cannot read the API token parameter ({type(exc).__name__})") from None
    value = str(response["Parameter"]["Value"])
    if not value:
        raise TdbUnauthorized("the API token parameter is empty")
    return value


class TdbClient:
    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        *,
        timeout: float = 10.0,
        attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        transport: Transport = http_transport,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        budget: Callable[[], float] | None = None,  # seconds left for this run; no retry sleeps past it
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.transport = transport
        self.sleep = sleep
        self.jitter = jitter
        self.budget = budget
        self.requests = 0  # every HTTP request made, retries included (for metrics and the bench)

    def submit_batch(self, statements: list[dict[str, Any]]) -> Reply:
        """POST /api/v1/statements: 201 with `statements`, or 422 with `errors` (none created then)."""
        return self._request("POST", "/api/v1/statements", {"statements": statements})

    def submit_one(self, statement: dict[str, Any]) -> Reply:
        return self._request("POST", "/api/v1/statement", statement)

    def puid_exists(self, puid: str) -> bool:
        """GET /api/v1/statement/existing-puid/{puid}: 302 found, 404 not found."""
        reply = self._request("GET", f"/api/v1/statement/existing-puid/{quote(puid, safe='')}", None)
        if reply.status == 302:
            return True
        if reply.status == 404:
            return False
        raise TdbUnavailable(f"existing-puid check answered {reply.status}")

    def _request(self, method: str, path: str, payload: Any) -> Reply:
        body = json.dumps(payload, separators=(",", ":")).encode() if payload is not None else None
        headers = {
            "Authorization": f"Bearer {self.token()}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        last = "no attempt"
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            retry_after: float | None = None
            try:
                status, raw, response_headers = self.transport(
                    method, self.base_url + path, headers, body, self.timeout
                )
            except (OSError, http.client.HTTPException) as exc:  # timeouts and dropped connections included
                last = type(exc).__name__
            else:
                if status in (401, 403):
                    raise TdbUnauthorized(f"the database refused the token ({status})")
                if status not in RETRY_STATUSES:
                    return Reply(status, _json(raw))
                last = f"HTTP {status}"
                retry_after = _seconds(response_headers.get("retry-after"))
            if attempt == self.attempts:
                break
            delay = self._delay(attempt, retry_after)
            if self.budget is not None and delay >= self.budget():
                break
            logger.warning("transparency database retry", attempt=attempt, cause=last, delay_s=round(delay, 3))
            self.sleep(delay)
        raise TdbUnavailable(f"no answer after {self.attempts} attempts ({last})")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]; never sooner than Retry-After."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        delay = self.jitter() * ceiling
        return float(max(delay, min(retry_after, self.max_delay))) if retry_after is not None else float(delay)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
