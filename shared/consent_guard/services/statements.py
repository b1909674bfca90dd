"""Statements of reasons for the EU Transparency Database (DSA Art. 24(5)): owed by every decision that restricts
content or an account, committed with it, and delivered by the submitter at least once under a stable puid.

Delivery: batches of up to 100 on the batch endpoint. A 422 naming some statements sets those aside as rejected
(kept, counted, alarmed) and sends the rest again; a 422 for puids already there is confirmed with the
existing-puid lookup and marked submitted; any other 422 is split in halves until the invalid one is alone.
429, 5xx and timeouts are retried by the client; what still fails stays pending for the next run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from consent_guard.clock import Clock, utc_now
from consent_guard.config import SubmissionMode
from consent_guard.models.domain import Case, PostFacts
from consent_guard.models.tdb import BATCH_MAX, PendingStatement
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import Policy
from consent_guard.policy.transparency import StatementConfig, StatementInput, build_statement
from consent_guard.repository.statements import StatementRepository
from consent_guard.statement_config import StatementSettings
from consent_guard.transparency_db import TdbClient, TdbUnavailable

STATEMENT_KEY = re.compile(r"^statement_(\d+)$")


def decision_id(case_id: str, seq: int) -> str:
    """Ours: the case and the sequence number of its enforcement event. Stable across retries, unique forever."""
    return f"{case_id}-{seq}"


def pending_statement(
    case: Case, seq: int, post: PostFacts | None, policy: Policy, settings: StatementSettings, now: datetime
) -> PendingStatement:
    """The statement a restricting decision owes, to be written in the decision's own transaction."""
    decision = case.decision
    assert decision is not None, "a statement needs a decision"
    statement = build_statement(
        StatementInput(
            decision_id=decision_id(case.case_id, seq),
            category=case.category,
            enforcement=decision.enforcement,
            rule_ids=decision.rule_ids,
            issues_strike=decision.issues_strike,
            automated=decision.automated,
            trusted_flagger=any(r.trusted_flagger for r in case.key_reports),
            own_detection=case.detection is not None,  # a case a bank match opened: our own detection
            media_types=tuple(m.media_type for m in post.media) if post else (),
            content_created_at=post.created_at if post else case.created_at,
            decided_at=now,
        ),
        policy,
        StatementConfig(
            reference_url=settings.reference_url,
            territorial_scope=settings.territorial_scope,
            account_type=settings.account_type,
        ),
    )
    return PendingStatement(case_id=case.case_id, seq=seq, statement=statement, created_at=now)


@dataclass
class SubmissionSummary:
    mode: str
    batches: int = 0
    submitted: int = 0
    already_there: int = 0
    rejected: int = 0
    deferred: int = 0
    requests: int = 0
    puids: list[str] = field(default_factory=list)


class StatementSubmitter:
    def __init__(
        self,
        repository: StatementRepository,
        client: TdbClient | None,
        mode: SubmissionMode,
        clock: Clock = utc_now,
        batch_size: int = BATCH_MAX,
    ) -> None:
        if mode is not SubmissionMode.OFF and client is None:
            raise ValueError("a client is needed to submit")
        self.repository = repository
        self.client = client
        self.mode = mode
        self.clock = clock
        self.batch_size = min(batch_size, BATCH_MAX)

    def run(self, remaining_ms: Callable[[], int], reserve_ms: int = 5000) -> SubmissionSummary:
        """Drain the pending statements, a batch at a time, while the invocation has time left."""
        summary = SubmissionSummary(mode=self.mode.value)
        if self.mode is SubmissionMode.OFF:
            logger.info("statement submission is off for this stage")
            return summary
        assert self.client is not None
        requests_before = self.client.requests
        try:
            while remaining_ms() > reserve_ms:
                batch = self.repository.pending(self.batch_size)
                if not batch:
                    break
                summary.batches += 1
                self._submit(batch, summary)
                if len(batch) < self.batch_size:
                    break
        except TdbUnavailable:
            summary.deferred = len(self.repository.pending(self.batch_size))
            metrics.add_metric(name="StatementsDeferred", unit=MetricUnit.Count, value=summary.deferred)
            logger.warning("transparency database unavailable; statements stay pending", pending=summary.deferred)
            raise
        finally:
            summary.requests = self.client.requests - requests_before
            for name, value in (
                ("StatementsSubmitted", summary.submitted + summary.already_there),
                ("StatementsRejected", summary.rejected),
            ):
                if value:
                    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        logger.info(
            "statements submitted",
            mode=self.mode.value,
            batches=summary.batches,
            submitted=summary.submitted,
            already_there=summary.already_there,
            rejected=summary.rejected,
            requests=summary.requests,
        )
        return summary

    # ------------------------------------------------------------ one batch

    def _submit(self, batch: Sequence[PendingStatement], summary: SubmissionSummary) -> None:
        assert self.client is not None
        reply = self.client.submit_batch([p.statement.payload() for p in batch])
        now = self.clock()
        if reply.status == 201:
            created = {str(s.get("puid")): s for s in reply.body.get("statements", []) if isinstance(s, dict)}
            accepted = [
                (p, _str(created.get(p.puid, {}).get("uuid")), _str(created.get(p.puid, {}).get("permalink")))
                for p in batch
            ]
            summary.submitted += self.repository.mark_all_submitted(accepted, now)
            summary.puids += [p.puid for p in batch]
            return
        if reply.status != 422:
            raise TdbUnavailable(f"unexpected answer {reply.status}")
        errors = reply.body.get("errors")
        errors = errors if isinstance(errors, dict) else {}
        invalid = _invalid_statements(errors, len(batch))
        if invalid:
            for index, fields in invalid.items():
                self._reject(batch[index], fields, now, summary)
            self._again([p for i, p in enumerate(batch) if i not in invalid], summary)
            return
        duplicates = _duplicate_puids(errors) & {p.puid for p in batch}
        if duplicates:
            for pending in batch:
                if pending.puid in duplicates and self.client.puid_exists(pending.puid):
                    if self.repository.mark_submitted(pending, now, None, None):
                        summary.already_there += 1
                        summary.puids.append(pending.puid)
                    logger.info("statement already in the database", puid=pending.puid)
            self._again([p for p in batch if p.puid not in duplicates], summary)
            return
        if len(batch) == 1:
            self._reject(batch[0], list(errors) or ["unknown"], now, summary)
            return
        middle = len(batch) // 2
        self._again(batch[:middle], summary)
        self._again(batch[middle:], summary)

    def _again(self, batch: Sequence[PendingStatement], summary: SubmissionSummary) -> None:
        if batch:
            self._submit(batch, summary)

    def _reject(self, pending: PendingStatement, fields: list[str], now: datetime, summary: SubmissionSummary) -> None:
        if self.repository.mark_rejected(pending, now, fields):
            summary.rejected += 1
        logger.error("statement rejected by the transparency database", puid=pending.puid, fields=sorted(fields))


def _invalid_statements(errors: dict[str, Any], size: int) -> dict[int, list[str]]:
    """`statement_<index>` keys of a batch 422, with the names of the fields refused (never their values)."""
    found: dict[int, list[str]] = {}
    for key, value in errors.items():
        match = STATEMENT_KEY.match(str(key))
        if match and int(match.group(1)) < size:
            found[int(match.group(1))] = sorted(value) if isinstance(value, dict) else ["unknown"]
    return found


def _duplicate_puids(errors: dict[str, Any]) -> set[str]:
    values: set[str] = set()
    for key in ("existing_puids", "puid"):
        listed = errors.get(key)
        if isinstance(listed, list):
            values |= {str(v) for v in listed}
    return values


def _str(value: object) -> str | None:
    return str(value) if value else None


def monotonic_budget(remaining_ms: Callable[[], int], reserve_ms: int) -> Callable[[], float]:
    """Seconds the client may still spend sleeping between retries in this invocation."""
    return lambda: max(0.0, (remaining_ms() - reserve_ms) / 1000)


__all__ = [
    "StatementSubmitter",
    "SubmissionSummary",
    "decision_id",
    "monotonic_budget",
    "pending_statement",
]
