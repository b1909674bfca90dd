"""The private information & private media policy: its document, and the pure engine that applies it."""

from consent_guard.policy.document import Policy, load_policy
from consent_guard.policy.engine import (
    EnforcementDecision,
    MatchAction,
    MatchCaseFacts,
    MatchVerdict,
    RuleNotApplicable,
    active_strikes,
    citable_rules,
    decide_by_person,
    decide_enforcement,
    decide_match,
    evaluate_case,
    match_verdict,
    missing_confirmations,
    reporter_rule_ids,
    reporter_statement,
    review_priority,
)

__all__ = [
    "EnforcementDecision",
    "MatchAction",
    "MatchCaseFacts",
    "MatchVerdict",
    "Policy",
    "RuleNotApplicable",
    "active_strikes",
    "citable_rules",
    "decide_by_person",
    "decide_enforcement",
    "decide_match",
    "evaluate_case",
    "load_policy",
    "match_verdict",
    "missing_confirmations",
    "reporter_rule_ids",
    "reporter_statement",
    "review_priority",
]
