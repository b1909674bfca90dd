"""Pagination cursors: where a page of a DynamoDB query ended, signed and bound to who asked and for what.

A cursor is `payload.signature`: the payload is the page's last key (string attributes only), the signature an
HMAC-SHA256 over the payload and its binding (the caller, the route and the query). A cursor that was altered,
made up, or replayed by another caller or for another query is refused before it reaches DynamoDB.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from consent_guard.errors import DomainError

MAX_ATTRIBUTE_CHARS = 1024


class InvalidCursor(DomainError):
    code = "invalid_cursor"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSigner:
    """Signs and checks cursors with one key (from the function's configuration)."""

    def __init__(self, key: str) -> None:
        if len(key) < 32:
            raise ValueError("the cursor key must have at least 32 characters")
        self._key = key.encode()

    def _signature(self, payload: str, binding: str) -> str:
        message = f"v1\n{binding}\n{payload}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def encode(self, last_key: dict[str, Any] | None, binding: str) -> str | None:
        """The cursor of a page that ended at `last_key` (DynamoDB's LastEvaluatedKey), or None at the end."""
        if not last_key:
            return None
        plain = {name: value["S"] for name, value in sorted(last_key.items())}
        payload = _b64(json.dumps(plain, separators=(",", ":")).encode())
        return f"{payload}.{self._signature(payload, binding)}"

    def decode(self, cursor: str | None, binding: str, key_names: frozenset[str]) -> dict[str, Any] | None:
        """The ExclusiveStartKey of a cursor this signer issued for this binding; InvalidCursor otherwise."""
        if not cursor:
            return None
        if not cursor.isascii():  # compare_digest refuses non-ASCII text: such a cursor was never issued
            raise InvalidCursor("the cursor is not valid")
        payload, dot, signature = cursor.partition(".")
        if not dot or not payload or not hmac.compare_digest(signature, self._signature(payload, binding)):
            raise InvalidCursor("the cursor is not valid")
        try:
            plain = json.loads(_unb64(payload))
        except (ValueError, binascii.Error) as exc:
            raise InvalidCursor("the cursor is not valid") from exc
        if (
            not isinstance(plain, dict)
            or set(plain) != key_names
            or not all(isinstance(v, str) and 0 < len(v) <= MAX_ATTRIBUTE_CHARS for v in plain.values())
        ):
            raise InvalidCursor("the cursor is not valid")
        return {name: {"S": value} for name, value in plain.items()}
