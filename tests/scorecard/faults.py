"""Faults injected at the HTTP layer of botocore (`before-send`), so the SDK's own retry logic really runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse

INJECTED_URL = "https://injected.invalid/"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def aws_error(status: int, code: str, json_protocol: bool = True) -> AWSResponse:
    """An error response as the service would send it (JSON protocols: DynamoDB, SQS, EventBridge; rest-json: SES)."""
    body: dict[str, str] = {"message": "injected by the scorecard"}
    if json_protocol:
        body["__type"] = code
    return AWSResponse(
        INJECTED_URL,
        status,
        {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"},
        _Raw(json.dumps(body).encode()),
    )


class Injector:
    """Answers the first `times` sends of an operation with an error (times=None: every send). Counts every send,
    the ones that reach the (moto) service included."""

    def __init__(self, response: Callable[[], AWSResponse], times: int | None) -> None:
        self.response = response
        self.times = times
        self.sends = 0
        self.injected = 0

    def __call__(self, request: Any = None, **_: Any) -> AWSResponse | None:
        self.sends += 1
        if self.times is None or self.injected < self.times:
            self.injected += 1
            # botocore calls every before-send handler and uses the first response; moto's own handler comes after
            # this one and would still apply the request. A throttled request must never reach the service, so the
            # injected attempt is pointed at an address moto does not serve (botocore builds each attempt anew).
            if request is not None:
                request.url = INJECTED_URL
            return self.response()
        return None


@contextmanager
def inject(client: Any, operation: str, response: Callable[[], AWSResponse], times: int | None) -> Iterator[Injector]:
    """Register the injector first among the client's before-send handlers (ahead of moto's), for one operation."""
    injector = Injector(response, times)
    event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"
    unique_id = f"scorecard-{operation}-{id(injector)}"
    client.meta.events.register_first(event, injector, unique_id=unique_id)
    try:
        yield injector
    finally:
        client.meta.events.unregister(event, unique_id=unique_id)
