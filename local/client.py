"""A small httpx helper for talking to a running local stack (the demo and the e2e tests).

stack = LocalStackClient("http://127.0.0.1:3000")
alice = stack.as_user("alice")
moderator = stack.as_user("mia", groups=["moderators"])
platform = stack.as_platform()
wait_until(lambda: stack.events(), timeout=10)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from local.jwt_local import PLATFORM_SCOPE, TRUSTED_FLAGGER_GROUP, mint_token


def wait_until[T](predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.2, message: str = "") -> T:
    """Poll until `predicate()` returns something truthy and return it; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(message or f"condition not met within {timeout:g} s (last value: {value!r})")
        time.sleep(interval)


class LocalStackClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._clients: list[httpx.Client] = []
        self.local = self._client({})  # no token: local-only routes, and "anonymous" calls

    def _client(self, headers: dict[str, str]) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout)
        self._clients.append(client)
        return client

    def with_token(self, token: str) -> httpx.Client:
        return self._client({"authorization": f"Bearer {token}"})

    def anonymous(self) -> httpx.Client:
        return self._client({})

    def as_user(
        self, sub: str, groups: Iterable[str] = (), trusted_flagger: bool = False, **extra_claims: Any
    ) -> httpx.Client:
        """A client carrying a user's token (Cognito ID token shape, `cognito:groups`)."""
        group_list = [*groups, TRUSTED_FLAGGER_GROUP] if trusted_flagger else list(groups)
        return self.with_token(mint_token(sub, groups=group_list, **extra_claims))

    def as_platform(self, client_id: str = "partner-platform", **extra_claims: Any) -> httpx.Client:
        """A client carrying a platform service's client-credentials token with the consent-guard/platform scope."""
        return self.with_token(mint_token(client_id, scopes=(PLATFORM_SCOPE,), **extra_claims))

    # ------------------------------------------------------------------ local-only routes
    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/local/health")
        return result

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        """Events published to the enforcement bus so far, oldest first."""
        params = {"detail-type": detail_type} if detail_type else None
        events: list[dict[str, Any]] = self._json("GET", "/local/events", params=params)
        return events

    def queues(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self._json("GET", "/local/queues")
        return result

    def run_schedule(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", "/local/schedule/run")
        return result

    def submit_statements(self) -> dict[str, Any]:
        """Run the statement submitter now (as its schedule would), against the fake Transparency Database."""
        result: dict[str, Any] = self._json(
            "POST", "/local/schedule/run", params={"function": "StatementSubmitterFunction"}
        )
        return result

    def tdb(self) -> dict[str, Any]:
        """What the fake Transparency Database accepted: {accepted, requests, answers, statements}."""
        result: dict[str, Any] = self._json("GET", "/local/tdb")
        return result

    def redrive(self, queue: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", f"/local/queues/{queue}/redrive")
        return result

    def openapi(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/openapi.json")
        return result

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.local.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    wait_until = staticmethod(wait_until)

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    def __enter__(self) -> LocalStackClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
