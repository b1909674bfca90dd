"""Transparency statistics (DSA Art. 15(1), 24(1); docs/statistics.md): counters and time histograms in daily
items, updated as an effect of the change they count, never by scanning cases.

A change's figures are derived here, purely, from the change itself (its events, strikes, the case before and
after) as one `stats` effect stored in the change's outbox item - no extra item in the change's transaction. The
effects function adds them once (repository/stats.py: a marker keyed by the effect id in the same transaction as
the ADDs), so a redelivered effect never counts twice. The effect carries day, dimension and count only: categories,
outcomes and measures, never an account, a reporter or a text.

Medians and p90 come from a fixed log-bucket histogram: bucket i >= 1 holds [2^((i-1)/4), 2^(i/4)) seconds and is
read as its geometric middle, so an estimate is within 2^(1/8) - 1 (9.05 %) of the exact nearest-rank value (below
one second: within 0.5 s)."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from consent_guard.auth import Group, Principal
from consent_guard.models.domain import Case, CaseState, EventType, Relationship, Report
from consent_guard.models.effects import Effect, EffectKind, Outbox
from consent_guard.models.stats import (
    AppealFigures,
    Art23Figures,
    DecisionFigures,
    Durations,
    EnforcementFigures,
    ModeDurations,
    NoticeFigures,
    PendingFigures,
    PeriodFigures,
    SlaFigures,
    StatsReport,
    StrikeFigures,
)
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
    rows.duration(at, f"ttd|{category}|{mode}", seconds)
    rows.duration(at, f"ttd|all|{mode}", seconds)


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


# ---------------------------------------------------------------- reading: the report

GROUP_BY = ("day", "week", "month", "total")
MAX_DAYS = 400


def period_of(day: date, group_by: str) -> str:
    if group_by == "day":
        return day.isoformat()
    if group_by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if group_by == "month":
        return f"{day:%Y-%m}"
    return "total"


def _prefixed(counts: Mapping[str, int], prefix: str) -> dict[str, int]:
    """`prefix<value>` counters by value (not the finer `prefix<value>:<more>` ones)."""
    return {
        k.removeprefix(prefix): v
        for k, v in sorted(counts.items())
        if k.startswith(prefix) and ":" not in k.removeprefix(prefix)
    }


def _by_outcome(decisions: Mapping[str, int], mode: str) -> dict[str, int]:
    return {k.split(":")[1]: v for k, v in sorted(decisions.items()) if k.startswith("outcome:") and k.endswith(mode)}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _durations(histogram: Mapping[int, int]) -> Durations:
    return Durations(
        count=sum(histogram.values()), median_seconds=quantile(histogram, 0.5), p90_seconds=quantile(histogram, 0.9)
    )


def period_figures(period: str, first: date, last: date, groups: Mapping[str, Mapping[str, int]]) -> PeriodFigures:
    """One period's figures from its summed daily items (group -> attribute -> count)."""

    def g(name: str) -> Mapping[str, int]:
        return groups.get(name, {})

    def hist(name: str) -> dict[int, int]:
        return {int(k[1:]): v for k, v in g(name).items() if k.startswith("b") and v}

    notices, decisions, enforcement, appeals = g("notices"), g("decisions"), g("enforcement"), g("appeals")
    times: dict[str, ModeDurations] = {}
    for name in sorted(groups):
        if name.startswith("ttd|"):
            _, category, mode = name.split("|")
            current = times.get(category, ModeDurations())
            times[category] = current.model_copy(update={mode: _durations(hist(name))})
    automated = decisions.get("mode:automated", 0)
    return PeriodFigures(
        period=period,
        from_date=first,
        to_date=last,
        notices=NoticeFigures(
            total=notices.get("total", 0),
            by_category=_prefixed(notices, "category:"),
            by_source=_prefixed(notices, "source:"),
            manifestly_unfounded=notices.get("manifestly_unfounded", 0),
        ),
        decisions=DecisionFigures(
            total=decisions.get("total", 0),
            automated=automated,
            human=decisions.get("mode:human", 0),
            by_outcome=_prefixed(decisions, "outcome:"),
            by_outcome_automated=_by_outcome(decisions, ":automated"),
            by_outcome_human=_by_outcome(decisions, ":human"),
            by_category=_prefixed(decisions, "category:"),
            manifestly_unfounded=decisions.get("manifestly_unfounded", 0),
            hash_match=decisions.get("hash_match", 0),
        ),
        enforcement=EnforcementFigures(
            by_level=_prefixed(enforcement, "level:"),
            by_measure=_prefixed(enforcement, "measure:"),
            lifted_by_measure=_prefixed(enforcement, "lifted:"),
            lifted_by_reason=_prefixed(enforcement, "lifted_reason:"),
        ),
        strikes=StrikeFigures(
            issued=g("strikes").get("issued", 0),
            expired=g("strikes").get("expired", 0),
            withdrawn=g("strikes").get("withdrawn", 0),
        ),
        time_to_decision=times,
        sla=SlaFigures(
            breached_decisions=g("sla").get("breached", 0),
            breached_by_category=_prefixed(g("sla"), "breached:"),
            escalated=g("sla").get("escalated", 0),
        ),
        appeals=AppealFigures(
            filed=appeals.get("filed", 0),
            filed_by_author=appeals.get("filed:author", 0),
            filed_by_reporter=appeals.get("filed:reporter", 0),
            decided=appeals.get("decided", 0),
            upheld=appeals.get("upheld", 0),
            reversed=appeals.get("reversed", 0),
            decision_time=_durations(hist("appeal_time")),
            reversal_rate=_rate(appeals.get("reversed", 0), appeals.get("decided", 0)),
            automated_decided=appeals.get("automated_decided", 0),
            automated_reversed=appeals.get("automated_reversed", 0),
            automated_reversal_rate=_rate(appeals.get("automated_reversed", 0), appeals.get("automated_decided", 0)),
            automated_error_rate=_rate(appeals.get("automated_reversed", 0), automated),
            hash_match_decided=appeals.get("hash_match_decided", 0),
            hash_match_reversed=appeals.get("hash_match_reversed", 0),
            hash_match_reversal_rate=_rate(appeals.get("hash_match_reversed", 0), decisions.get("hash_match", 0)),
        ),
        art23=Art23Figures(warnings=g("art23").get("warnings", 0), suspensions=g("art23").get("suspensions", 0)),
    )


def pending_figures(cohorts: Mapping[str, Mapping[str, int]], today: date) -> dict[str, PendingFigures]:
    """Pending cases per state from their entry-day cohorts (state -> "YYYY-MM-DD" -> count)."""
    out: dict[str, PendingFigures] = {}
    for state in PENDING_STATES:
        days = {d: n for d, n in cohorts.get(state.value, {}).items() if n > 0}
        oldest = date.fromisoformat(min(days)) if days else None
        out[state.value] = PendingFigures(
            count=sum(days.values()),
            oldest_since=oldest,
            oldest_age_days=(today - oldest).days if oldest else None,
        )
    return out


class StatsService:
    def __init__(self, repository: Any, clock: Any) -> None:
        self.repository = repository  # repository/stats.StatsRepository
        self.clock = clock

    def report(self, principal: Principal, first: date, last: date, group_by: str) -> StatsReport:
        principal.require_group(Group.ADMINS)
        daily = self.repository.daily(first, last)  # day -> group -> attr -> count
        periods: dict[str, tuple[date, date, dict[str, Counter[str]]]] = {}
        day = first
        while day <= last:
            key = period_of(day, group_by)
            start, _, groups = periods.get(key, (day, day, {}))
            for group, attrs in daily.get(day.isoformat(), {}).items():
                groups.setdefault(group, Counter()).update(attrs)
            periods[key] = (start, day, groups)
            day += timedelta(days=1)
        now = self.clock()
        return StatsReport(
            from_date=first,
            to_date=last,
            group_by=group_by,
            generated_at=now,
            histogram_relative_error=round(RELATIVE_ERROR, 6),
            periods=[period_figures(k, s, e, g) for k, (s, e, g) in periods.items()],
            pending=pending_figures(self.repository.pending_cohorts(), now.astimezone(UTC).date()),
        )


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out.append((prefix, value))


def report_csv(report: StatsReport) -> str:
    """The report as RFC 4180 CSV (CRLF line ends, quoted where needed), one figure a row: period, from, to, metric,
    value. Pending cases are the rows of period `now`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["period", "from", "to", "metric", "value"])
    for period in report.periods:
        rows: list[tuple[str, Any]] = []
        _flatten("", period.model_dump(mode="json", exclude={"period", "from_date", "to_date"}), rows)
        first, last = period.from_date.isoformat(), period.to_date.isoformat()
        for metric, value in rows:
            writer.writerow([period.period, first, last, metric, "" if value is None else value])
    today = report.generated_at.astimezone(UTC).date().isoformat()
    pending: list[tuple[str, Any]] = []
    _flatten("pending", {k: v.model_dump(mode="json") for k, v in report.pending.items()}, pending)
    for metric, value in pending:
        writer.writerow(["now", today, today, metric, "" if value is None else value])
    return buffer.getvalue()
