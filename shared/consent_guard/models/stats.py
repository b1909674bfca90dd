"""The transparency statistics as the API answers them (GET /stats, JSON; the CSV flattens the same figures)."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    # deferred like every other model family: only the stats route validates or serializes these
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class Durations(_Out):
    """A time distribution from the fixed-bucket histogram: median and p90 are nearest-rank estimates within
    `StatsReport.histogram_relative_error` of the exact values (docs/statistics.md)."""

    count: int = 0
    median_seconds: float | None = None
    p90_seconds: float | None = None


class ModeDurations(_Out):
    automated: Durations = Field(default_factory=Durations)
    human: Durations = Field(default_factory=Durations)


class NoticeFigures(_Out):
    total: int = 0
    by_category: dict[str, int] = Field(default_factory=dict)
    by_source: dict[str, int] = Field(default_factory=dict)  # person, representative, trusted_flagger, own_detection
    manifestly_unfounded: int = 0  # notices of cases a moderator decided were manifestly unfounded (Art. 23)


class DecisionFigures(_Out):
    total: int = 0
    automated: int = 0
    human: int = 0
    by_outcome: dict[str, int] = Field(default_factory=dict)
    by_outcome_automated: dict[str, int] = Field(default_factory=dict)
    by_outcome_human: dict[str, int] = Field(default_factory=dict)
    by_category: dict[str, int] = Field(default_factory=dict)
    manifestly_unfounded: int = 0
    hash_match: int = 0  # automated decisions on a hash-bank match (own detection)


class EnforcementFigures(_Out):
    by_level: dict[str, int] = Field(default_factory=dict)
    by_measure: dict[str, int] = Field(default_factory=dict)
    lifted_by_measure: dict[str, int] = Field(default_factory=dict)
    lifted_by_reason: dict[str, int] = Field(default_factory=dict)


class StrikeFigures(_Out):
    issued: int = 0
    expired: int = 0
    withdrawn: int = 0  # removed when an appeal reversed the decision that issued it


class SlaFigures(_Out):
    breached_decisions: int = 0  # decided by a person after the review deadline
    breached_by_category: dict[str, int] = Field(default_factory=dict)
    escalated: int = 0  # escalated by the scheduled re-review when the deadline passed


class AppealFigures(_Out):
    filed: int = 0
    filed_by_author: int = 0
    filed_by_reporter: int = 0
    decided: int = 0
    upheld: int = 0
    reversed: int = 0
    decision_time: Durations = Field(default_factory=Durations)
    reversal_rate: float | None = None  # reversed / decided
    automated_decided: int = 0  # appeals decided against an automated decision
    automated_reversed: int = 0
    automated_reversal_rate: float | None = None  # of appealed automated decisions, the share reversed
    automated_error_rate: float | None = None  # automated decisions reversed / automated decisions, same period
    hash_match_decided: int = 0
    hash_match_reversed: int = 0
    hash_match_reversal_rate: float | None = None  # hash-match decisions reversed / hash-match decisions


class Art23Figures(_Out):
    warnings: int = 0  # reporters warned for frequent manifestly unfounded notices
    suspensions: int = 0  # reporters whose notices are not processed for a while


class PeriodFigures(_Out):
    period: str
    from_date: date
    to_date: date
    notices: NoticeFigures = Field(default_factory=NoticeFigures)
    decisions: DecisionFigures = Field(default_factory=DecisionFigures)
    enforcement: EnforcementFigures = Field(default_factory=EnforcementFigures)
    strikes: StrikeFigures = Field(default_factory=StrikeFigures)
    time_to_decision: dict[str, ModeDurations] = Field(default_factory=dict)  # per category, and "all"
    sla: SlaFigures = Field(default_factory=SlaFigures)
    appeals: AppealFigures = Field(default_factory=AppealFigures)
    art23: Art23Figures = Field(default_factory=Art23Figures)


class PendingFigures(_Out):
    count: int = 0
    oldest_since: date | None = None  # UTC day the oldest pending case entered the state
    oldest_age_days: int | None = None


class StatsReport(_Out):
    from_date: date
    to_date: date
    group_by: str
    generated_at: datetime
    histogram_relative_error: float
    periods: list[PeriodFigures]
    pending: dict[str, PendingFigures]  # now: in_review, awaiting_first_person, needs_context, appealed
