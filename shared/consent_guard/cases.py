"""Case states and the one table of allowed moves. Anything not listed is an illegal transition (409)."""

from __future__ import annotations

from consent_guard.errors import IllegalTransition
from consent_guard.models.domain import CaseState, EventType, Outcome

__all__ = ["ALLOWED_MOVES", "PENDING_STATES", "STATE_FOR_OUTCOME", "CaseState", "EventType", "can_move", "check_move"]


PENDING_STATES = frozenset({CaseState.NEEDS_CONTEXT, CaseState.AWAITING_FIRST_PERSON, CaseState.IN_REVIEW})

# None is "no case yet": the first evaluation creates the case in the state its decision calls for.
ALLOWED_MOVES: dict[CaseState | None, frozenset[CaseState]] = {
    None: frozenset(
        {
            CaseState.NEEDS_CONTEXT,
            CaseState.AWAITING_FIRST_PERSON,
            CaseState.IN_REVIEW,
            CaseState.ACTIONED,
            CaseState.DISMISSED,
        }
    ),
    CaseState.NEEDS_CONTEXT: frozenset(
        {CaseState.AWAITING_FIRST_PERSON, CaseState.IN_REVIEW, CaseState.ACTIONED, CaseState.DISMISSED}
    ),
    CaseState.AWAITING_FIRST_PERSON: frozenset(
        {CaseState.NEEDS_CONTEXT, CaseState.IN_REVIEW, CaseState.ACTIONED, CaseState.DISMISSED, CaseState.CLOSED}
    ),
    CaseState.IN_REVIEW: frozenset({CaseState.ACTIONED, CaseState.DISMISSED, CaseState.AWAITING_FIRST_PERSON}),
    CaseState.ACTIONED: frozenset({CaseState.APPEALED, CaseState.CLOSED}),
    CaseState.DISMISSED: frozenset({CaseState.APPEALED, CaseState.CLOSED}),
    CaseState.APPEALED: frozenset({CaseState.ACTIONED, CaseState.DISMISSED}),
    # Closed is final, with one exception: a case closed for want of a first-person report re-opens when the
    # person depicted reports after all (the policy's promise; the check is in services/evaluation.py).
    CaseState.CLOSED: frozenset(
        {CaseState.NEEDS_CONTEXT, CaseState.IN_REVIEW, CaseState.ACTIONED, CaseState.DISMISSED}
    ),
}

STATE_FOR_OUTCOME: dict[Outcome, CaseState] = {
    Outcome.REMOVE: CaseState.ACTIONED,
    Outcome.NO_VIOLATION: CaseState.DISMISSED,
    Outcome.NEEDS_REVIEW: CaseState.IN_REVIEW,
    Outcome.AWAITING_FIRST_PERSON: CaseState.AWAITING_FIRST_PERSON,
    Outcome.NEEDS_CONTEXT: CaseState.NEEDS_CONTEXT,
}


def can_move(current: CaseState | None, target: CaseState) -> bool:
    return target in ALLOWED_MOVES[current]


def check_move(current: CaseState | None, target: CaseState) -> None:
    if not can_move(current, target):
        raise IllegalTransition(
            "the case cannot move to that state", current_state=current.value if current else None, target=target
        )
