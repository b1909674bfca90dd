"""The private information & private media policy: its document, and the pure engine that applies it."""

from consent_guard.policy.document import Policy, load_policy
from consent_guard.policy.engine import (
    EnforcementDecision,
    active_strikes,
    decide_enforcement,
    evaluate_case,
    review_priority,
)

__all__ = [
    "EnforcementDecision",
    "Policy",
    "active_strikes",
    "decide_enforcement",
    "evaluate_case",
    "load_policy",
    "review_priority",
]
