"""Transparency statistics (DSA Art. 15(1), 24(1); docs/statistics.md): counters and time histograms in daily
items, updated as an effect of the change they count, never by scanning cases. This module is the writing side:
what a change adds; the reading side (the report, its models and its CSV) is services/stats.py, loaded only by the
case API, so the functions that change cases do not import the report's models.

A change's figures are derived here, purely, from the change itself (its events, strikes, the case before and
after) as one `stats` effect stored in the change's outbox item - no extra item in the change's transaction. The
effects function adds them once: the ADDs go in the transaction of the outbox item's own conditional removal (or
advance), so a redelivered item never counts twice (repository/stats.py, services/delivery.py). The effect carries
day, dimension and count only: categories, outcomes and measures, never an account, a reporter or a text.

Medians and p90 come from a fixed log-bucket histogram: bucket i >= 1 holds [2^((i-1)/4), 2^(i/4)) seconds and is
read as its geometric middle, so an estimate is within 2^(1/8) - 1 (9.05 %) of the exact nearest-rank value (below
one second: within 0.5 s)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from consent_guard.models.domain import Case, CaseState, EventType, Relationship, Report
from consent_guard.models.effects import Effect, EffectKind, Outbox
from consent_guard.repository import CaseChange

# ---------------------------------------------------------------- the histogram

BUCKETS_PER_DOUBLING = 4
MAX_BUCKET = 120  # 2^(119/4) s is 27 years: the last bucket is open-ended
RELATIVE_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1  # 0.0905
ABSOLUTE_ERROR_BELOW_1S = 0.5


def bucket_of(seconds: float) -> int:
    if seconds < 1:
        return 0
    return min(MAX_BUCKET, math.floor(BUCKETS_PER_DOUBLING * math.log2(seconds)) + 1)


def bucket_value(bucket: int) -> float:
    """What a bucket is read as: the geometric middle of its bounds (0.5 s for the first)."""
    if bucket == 0:
        return 0.5
    return float(2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING))


def quantile(histogram: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank q-quantile (the value at rank ceil(q * n)), from the histogram."""
    n = sum(histogram.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return round(bucket_value(bucket), 3)
    raise AssertionError("unreachable")


def exact_quantile(values: Sequence[float], q: float) -> float | None:
    """The same nearest-rank quantile computed exactly (what the histogram's estimate is measured against)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


# ---------------------------------------------------------------- what a change adds

# one row of a stats effect: (item, attribute, count). Items: "D#<day>#<group>" (daily) or "P#<state>#<month>"
# (pending cases by the UTC day they entered the state, attribute "d<dd>").
Row = tuple[str, str, int]
PENDING_STATES = (CaseState.IN_REVIEW, CaseState.AWAITING_FIRST_PERSON, CaseState.NEEDS_CONTEXT, CaseState.APPEALED)
DECIDED = (CaseState.ACTIONED, CaseState.DISMISSED)


def utc_day(at: datetime) -> str:
    return at.astimezone(UTC).date().isoformat()


def notice_source(report: Report) -> str:
    """Who sent the notice (DSA Art. 15(1)(b)): a trusted flagger, someone acting for the person concerned, or a
    person (the one concerned or another). `own_detection` is what the platform finds itself (hash matches)."""
    if report.trusted_flagger:
        return "trusted_flagger"
    if report.relationship == Relationship.AUTHORIZED_REPRESENTATIVE:
        return "representative"
    return "person"


def is_hash_match(case: Case) -> bool:
    """A case opened by a hash-bank match (own detection, services/matching.py)."""
    return case.detection is not None


def pending_since(case: Case | None) -> tuple[str, datetime] | None:
    """The pending state a case is in and since when (None when nobody waits on it)."""
    if case is None or case.state not in PENDING_STATES:
        return None
    if case.state == CaseState.IN_REVIEW:
        since = case.queued_at or case.updated_at
    elif case.state == CaseState.APPEALED:
        since = case.appeal.filed_at if case.appeal else case.updated_at
    else:
        since = case.waiting_since or case.created_at
    return case.state.value, since


class _Rows:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, at: datetime, group: str, attr: str, n: int = 1) -> None:
        self.counts[(f"D#{utc_day(at)}#{group}", attr)] += n

    def pending(self, state: str, since: datetime, n: int) -> None:
        day = since.astimezone(UTC)
        self.counts[(f"P#{state}#{day:%Y-%m}", f"d{day:%d}")] += n

    def duration(self, at: datetime, group: str, seconds: float) -> None:
        self.add(at, group, f"b{bucket_of(max(0.0, seconds))}")

    def rows(self) -> list[Row]:
        return [(item, attr, n) for (item, attr), n in sorted(self.counts.items()) if n]


def _list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def notice_rows(rows: _Rows, report: Report) -> None:
    if report.evaluated_at is not None:
        return  # an amended report taken in again (confirmations added) is the same notice
    at = report.submitted_at
    rows.add(at, "notices", "total")
    rows.add(at, "notices", f"category:{report.category.value}")
    rows.add(at, "notices", f"source:{notice_source(report)}")


def _decision(rows: _Rows, case: Case, mode: str, at: datetime) -> None:
    assert case.decision is not None
    outcome = case.decision.outcome.value
    category = case.category.value
    rows.add(at, "decisions", "total")
    rows.add(at, "decisions", f"mode:{mode}")
    rows.add(at, "decisions", f"outcome:{outcome}")
    rows.add(at, "decisions", f"outcome:{outcome}:{mode}")
    rows.add(at, "decisions", f"category:{category}")
    if mode == "automated" and is_hash_match(case):
        rows.add(at, "decisions", "hash_match")
    noticed = min([case.created_at, *(r.submitted_at for r in case.key_reports)])
    seconds = (at - noticed).total_seconds()
    rows.duration(at, f"ttd|{category}|{mode}", seconds)  # all categories together: their sum, when read


def change_rows(change: CaseChange, before: Case | None, notices: Iterable[Report] = ()) -> list[Row]:
    """What a case change adds to the statistics."""
    rows = _Rows()
    case = change.case
    for report in notices:
        notice_rows(rows, report)
    if before is None and is_hash_match(case):
        # opened by our own detection: counted with the notices, by its own source (Art. 15(1)(c))
        rows.add(case.created_at, "notices", "total")
        rows.add(case.created_at, "notices", f"category:{case.category.value}")
        rows.add(case.created_at, "notices", "source:own_detection")
    for event in change.events:
        at, data = event.at, event.data
        if event.type == EventType.EVALUATED:
            if (
                case.decision is not None
                and data.get("to_state") in DECIDED
                and data.get("from_state") != data.get("to_state")
            ):
                _decision(rows, case, "automated" if case.decision.automated else "human", at)
        elif event.type == EventType.DECIDED:
            _decision(rows, case, "human", at)
            if data.get("manifestly_unfounded"):
                rows.add(at, "decisions", "manifestly_unfounded")
            if before is not None and before.review_due_at is not None and at > before.review_due_at:
                rows.add(at, "sla", "breached")
                rows.add(at, "sla", f"breached:{case.category.value}")
        elif event.type == EventType.ESCALATED and data.get("reason") == "review_sla":
            rows.add(at, "sla", "escalated")
        elif event.type == EventType.ENFORCEMENT_APPLIED:
            rows.add(at, "enforcement", f"level:{data.get('enforcement')}")
            for measure in _list(data.get("measures")):
                rows.add(at, "enforcement", f"measure:{measure}")
        elif event.type == EventType.ENFORCEMENT_LIFTED:
            reason = str(data.get("reason"))
            rows.add(at, "enforcement", f"lifted_reason:{reason}")
            for measure in _list(data.get("measures")):
                rows.add(at, "enforcement", f"lifted:{measure}")
            if reason == "strike_expired":
                rows.add(at, "strikes", "expired")
        elif event.type == EventType.APPEALED:
            rows.add(at, "appeals", "filed")
            rows.add(at, "appeals", f"filed:{data.get('role')}")
        elif event.type == EventType.APPEAL_DECIDED and before is not None and before.appeal is not None:
            result = "upheld" if data.get("result") == "uphold" else "reversed"
            rows.add(at, "appeals", "decided")
            rows.add(at, "appeals", result)
            rows.duration(at, "appeal_time", (at - before.appeal.filed_at).total_seconds())
            if before.decision is not None and before.decision.automated:
                rows.add(at, "appeals", "automated_decided")
                rows.add(at, "appeals", f"automated_{result}")
                if is_hash_match(before):
                    rows.add(at, "appeals", "hash_match_decided")
                    rows.add(at, "appeals", f"hash_match_{result}")
    if change.strikes:
        rows.add(case.updated_at, "strikes", "issued", len(change.strikes))
    if change.strikes_removed and before is not None and before.decision is not None and before.decision.issues_strike:
        rows.add(case.updated_at, "strikes", "withdrawn", len(change.strikes_removed))
    was, now = pending_since(before), pending_since(case)
    if was is not None and now is not None and was[0] == now[0] and utc_day(was[1]) == utc_day(now[1]):
        was = now = None  # still waiting in the same state, counted on the same day
    if was is not None:
        rows.pending(was[0], was[1], -1)
    if now is not None:
        rows.pending(now[0], now[1], 1)
    return rows.rows()


def stats_effect(outbox_id: str, rows: Sequence[Row], unfounded_case: str | None = None) -> Effect | None:
    if not rows and unfounded_case is None:
        return None
    payload: dict[str, Any] = {"rows": [list(r) for r in rows]}
    if unfounded_case is not None:
        payload["unfounded_case"] = unfounded_case
    return Effect(kind=EffectKind.STATS, effect_id=f"{outbox_id}:stats", payload=payload)


def with_stats(change: CaseChange, before: Case | None, outbox_id: str, notices: Iterable[Report] = ()) -> CaseChange:
    """The change with its statistics as one more effect in its own outbox item (`outbox_id` is used only when the
    change owes nothing else)."""
    outbox = change.outbox or Outbox(outbox_id=outbox_id)
    decided_unfounded = any(e.type == EventType.DECIDED and e.data.get("manifestly_unfounded") for e in change.events)
    unfounded = change.case.case_id if decided_unfounded else None
    effect = stats_effect(outbox.outbox_id, change_rows(change, before, notices), unfounded)
    if effect is None:
        return change
    return replace(change, outbox=outbox.model_copy(update={"effects": (*outbox.effects, effect)}))


def with_notice_stats(outbox: Outbox, report: Report) -> Outbox:
    """A folded report's outbox (on the report item itself) with the notice counted."""
    rows = _Rows()
    notice_rows(rows, report)
    effect = stats_effect(outbox.outbox_id, rows.rows())
    if effect is None:
        return outbox
    return outbox.model_copy(update={"effects": (*outbox.effects, effect)})


def standing_effect(outbox_id: str, kind: str, at: datetime) -> Effect:
    """A reporter warned or suspended for manifestly unfounded notices (DSA Art. 23), counted with its notice."""
    rows = _Rows()
    rows.add(at, "art23", "suspensions" if kind == "reporting_suspended" else "warnings")
    effect = stats_effect(outbox_id, rows.rows())
    assert effect is not None
    return effect
