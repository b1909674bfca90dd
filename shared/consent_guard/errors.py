"""Domain exceptions. The HTTP layer maps each to one status code in one place (http/common.py)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class. `code` is stable and machine-readable; the message never contains personal data."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(DomainError):
    """Well-formed but not acceptable for this resource (e.g. a rule that does not fit the case): 422."""

    code = "invalid_request"


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class VersionConflict(Conflict):
    """Someone else changed the item first; `details` carries what they wrote."""

    code = "version_conflict"


class TooManyRequests(DomainError):
    code = "too_many_requests"

    def __init__(self, message: str, retry_after_seconds: int, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after_seconds = retry_after_seconds


class StorageUnavailable(DomainError):
    """A dependency stayed throttled or unavailable after the SDK's retries: the caller may retry."""

    code = "temporarily_unavailable"
