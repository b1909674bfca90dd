"""Pure policy decisions per second on one core: the engine replays the CaseFacts the evaluation service built
for a varied set of real cases (bench.scenarios.policy_workload). No I/O, no AWS, one thread."""

from __future__ import annotations

import gc
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class PolicyRate:
    decisions_per_s: float
    distinct_facts: int
    outcomes: dict[str, int]


def decisions_per_second(facts: list[Any], seconds_per_repeat: float = 1.0, repeats: int = 5) -> PolicyRate:
    from consent_guard.policy import evaluate_case, load_policy

    if not facts:
        raise RuntimeError("no CaseFacts were captured from the evaluation service: nothing to replay")
    policy = load_policy()
    outcomes: dict[str, int] = {}
    for f in facts:
        outcome = str(evaluate_case(f, policy).outcome)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    pinned = hasattr(os, "sched_setaffinity")
    if pinned:
        saved = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(saved)})
    try:
        rates = []
        for _ in range(repeats):
            gc.collect()
            n = 0
            started = time.perf_counter()
            deadline = started + seconds_per_repeat
            while time.perf_counter() < deadline:
                for f in facts:
                    evaluate_case(f, policy)
                n += len(facts)
            rates.append(n / (time.perf_counter() - started))
    finally:
        if pinned:
            os.sched_setaffinity(0, saved)
    return PolicyRate(decisions_per_s=statistics.median(rates), distinct_facts=len(facts), outcomes=outcomes)
