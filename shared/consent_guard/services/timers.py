"""The one timer a case's state calls for (its kind and due time on the case item, in the sparse DueIndex): what
evaluation, moderation and the scheduled re-review give a case whenever they change it.

Apart from services/evaluation.py so that the re-review, which moves timers but never decides, does not import
what deciding needs (statements of reasons, the hash bank's changes): cold start, docs/benchmarks.md."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from consent_guard.models.domain import Case, CaseState

if TYPE_CHECKING:
    from consent_guard.policy import Policy

NEEDS_CONTEXT_RETRY = timedelta(minutes=15)
WAITING_STATES = (CaseState.NEEDS_CONTEXT, CaseState.AWAITING_FIRST_PERSON)
RETAINED_STATES = (CaseState.ACTIONED, CaseState.DISMISSED, CaseState.CLOSED, CaseState.APPEALED)
# what a scheduled action still owes (a notice) once its change is stored; sent, then replaced by the state's timer
FOLLOW_UPS = frozenset({"sla_notify", "close_notify"})  # kinds of before the outbox; settled when they fire


def retention_due(case: Case, policy: Policy) -> datetime | None:
    """When the personal data of a decided or closed case's reports is erased: its appeal window, then the
    retention period after it. None when there is nothing (left) to erase."""
    base = case.closed_at if case.state == CaseState.CLOSED else case.decided_at
    if base is None or case.erased_at is not None or case.state not in RETAINED_STATES:
        return None
    return base + timedelta(days=policy.appeal_window_days + policy.retention_days_after_appeal_window)


def sla_escalated(case: Case) -> bool:
    """Already escalated for its review deadline (which only ever moves earlier while the case waits in review):
    a case is escalated once per stay in review."""
    return bool(case.escalated_at and case.review_due_at and case.escalated_at >= case.review_due_at)


def state_timer(case: Case, now: datetime, policy: Policy) -> tuple[str, datetime] | None:
    """The timer a case's state calls for, from the case alone."""
    if case.state == CaseState.IN_REVIEW:
        return ("review_sla", case.review_due_at) if case.review_due_at and not sla_escalated(case) else None
    if case.state == CaseState.AWAITING_FIRST_PERSON:
        since = case.waiting_since or case.created_at
        return "first_person_wait", since + timedelta(days=policy.first_person_wait_days)
    if case.state == CaseState.NEEDS_CONTEXT:
        return "needs_context", now + NEEDS_CONTEXT_RETRY
    due = retention_due(case, policy)
    return ("retention", due) if due else None


def with_timer(case: Case, previous: Case | None, now: datetime, policy: Policy) -> Case:
    """Give the case the one timer its state calls for. A timer already running for the same state keeps its
    due time: re-evaluations must not push a deadline back. A decided or closed case gets its retention timer."""
    same_state = previous is not None and previous.state == case.state
    waiting_since: datetime | None = None
    if case.state in WAITING_STATES:
        waiting_since = (previous.waiting_since or previous.created_at) if previous and same_state else now
    case = case.model_copy(update={"waiting_since": waiting_since})
    due: tuple[str, datetime] | None
    if (
        previous is not None
        and same_state
        and previous.due_kind
        and previous.due_at
        and (previous.due_kind in FOLLOW_UPS or case.state in WAITING_STATES)
    ):
        due = (previous.due_kind, previous.due_at)
    else:
        due = state_timer(case, now, policy)
    return case.model_copy(update={"due_kind": due[0] if due else None, "due_at": due[1] if due else None})
