"""Transparency statistics, the reading side (DSA Art. 15(1), 24(1); docs/statistics.md): the report over a date
range, by day, week, month or in total, from the daily items that services/stats_effects.py's effects add to, and
its CSV. Only the case API reads it: the report's models (models/stats.py) stay out of the functions that only
count."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, timedelta
from typing import Any

from consent_guard.auth import Group, Principal
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
from consent_guard.services.stats_effects import PENDING_STATES, RELATIVE_ERROR, quantile

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
    every: dict[str, Counter[int]] = {}  # mode -> the all-categories histogram: the sum of the categories'
    for name in sorted(groups):
        if name.startswith("ttd|") and not name.startswith("ttd|all|"):
            _, category, mode = name.split("|")
            histogram = hist(name)
            every.setdefault(mode, Counter()).update(histogram)
            current = times.get(category, ModeDurations())
            times[category] = current.model_copy(update={mode: _durations(histogram)})
    for mode, histogram in sorted(every.items()):
        current = times.get("all", ModeDurations())
        times["all"] = current.model_copy(update={mode: _durations(histogram)})
    times = dict(sorted(times.items()))
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
