"""The private information & private media policy: its document, and the pure engine that applies it.

The names below are loaded on first access (PEP 562), each from its module: importing one module of the package
(`policy.retention`, `policy.transparency`) does not build the document's models or the engine, so a function that
needs only those does not pay for the rest at cold start (docs/benchmarks.md, issue 18).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from consent_guard.lazy import lazy_exports

if TYPE_CHECKING:
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
# public name -> its module: the document's two, the engine's the rest
_MODULES = {name: "document" if name in ("Policy", "load_policy") else "engine" for name in __all__}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES)
