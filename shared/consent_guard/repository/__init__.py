"""The only package that talks to DynamoDB, one module per aggregate (reports, context, cases, strikes,
notifications, timers, standing, outbox) on the shared low-level calls of `base`; `statements` (the Transparency
Database's statements of reasons) builds on the package. Maps ClientError codes to domain exceptions; every write
that matters is conditional or transactional.

`CaseRepository` is the one object services hold: it has every aggregate's reads and writes, each defined in its
module. The names below are the package's public surface; import them from `consent_guard.repository`."""

from __future__ import annotations

from consent_guard.repository.base import (
    _RETRYABLE,
    SDK_CONFIG,
    InvalidCursor,
    Page,
    TableAccess,
    TransactionRejected,
    _av,
    _code,
    _decode_cursor,
    _encode_cursor,
    _py,
    _raise_if_case_changed,
    _unavailable,
    dynamodb_client,
)
from consent_guard.repository.cases import CaseChange, CasesRepository
from consent_guard.repository.context import ContextRepository
from consent_guard.repository.notifications import NotificationsRepository
from consent_guard.repository.outbox import OutboxItem, OutboxRepository
from consent_guard.repository.reports import (
    IDEMPOTENCY_TTL_SECONDS,
    DuplicateReport,
    IdempotencyClaim,
    IdempotencyMismatch,
    PriorityHintClaim,
    PriorityHintsExhausted,
    QuotaExceeded,
    ReporterLimits,
    ReportingSuspended,
    ReportsRepository,
)
from consent_guard.repository.standing import StandingRepository
from consent_guard.repository.strikes import StrikesRepository
from consent_guard.repository.timers import TimersRepository

__all__ = [
    "IDEMPOTENCY_TTL_SECONDS",
    "SDK_CONFIG",
    "_RETRYABLE",
    "CaseChange",
    "CaseRepository",
    "DuplicateReport",
    "IdempotencyClaim",
    "IdempotencyMismatch",
    "InvalidCursor",
    "OutboxItem",
    "Page",
    "PriorityHintClaim",
    "PriorityHintsExhausted",
    "QuotaExceeded",
    "ReporterLimits",
    "ReportingSuspended",
    "TableAccess",
    "TransactionRejected",
    "_av",
    "_code",
    "_decode_cursor",
    "_encode_cursor",
    "_py",
    "_raise_if_case_changed",
    "_unavailable",
    "dynamodb_client",
]


class CaseRepository(
    ReportsRepository,
    ContextRepository,
    CasesRepository,
    StrikesRepository,
    NotificationsRepository,
    TimersRepository,
    StandingRepository,
    OutboxRepository,
):
    """DynamoDB single-table repository. `client` defaults to the lazily built, cached client."""
