"""The statistics' pure parts: the fixed-bucket histogram's documented error bound (docs/statistics.md), the
nearest-rank quantiles, notice sources, periods and the CSV's shape."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consent_guard.models.domain import Attestations, Category, Relationship, Report
from consent_guard.services.stats import period_of
from consent_guard.services.stats_effects import (
    ABSOLUTE_ERROR_BELOW_1S,
    MAX_BUCKET,
    RELATIVE_ERROR,
    bucket_of,
    bucket_value,
    exact_quantile,
    notice_source,
    quantile,
)

SECONDS = st.floats(min_value=0, max_value=2**29, allow_nan=False, allow_infinity=False)


def _histogram(values: list[float]) -> dict[int, int]:
    out: dict[int, int] = {}
    for v in values:
        out[bucket_of(v)] = out.get(bucket_of(v), 0) + 1
    return out


def test_the_documented_bound_is_2_to_the_eighth_minus_one() -> None:
    assert round(RELATIVE_ERROR, 4) == 0.0905
    assert bucket_of(0) == 0 and bucket_of(0.99) == 0 and bucket_of(1) == 1 and bucket_of(2**40) == MAX_BUCKET


@given(SECONDS)
def test_every_value_is_read_within_the_bound(value: float) -> None:
    estimate = bucket_value(bucket_of(value))
    if value < 1:
        assert abs(estimate - value) <= ABSOLUTE_ERROR_BELOW_1S
    else:
        assert abs(estimate - value) <= RELATIVE_ERROR * value * (1 + 1e-12)


@given(st.lists(SECONDS, min_size=1, max_size=200), st.sampled_from([0.5, 0.9, 0.99]))
def test_median_and_p90_from_the_histogram_are_within_the_bound_of_the_exact_ones(
    values: list[float], q: float
) -> None:
    estimate, exact = quantile(_histogram(values), q), exact_quantile(values, q)
    assert estimate is not None and exact is not None
    assert abs(estimate - exact) <= max(RELATIVE_ERROR * exact * (1 + 1e-9) + 0.001, ABSOLUTE_ERROR_BELOW_1S)


def test_the_bound_is_tight_not_loose() -> None:
    """A value at a bucket's lower edge is read 2^(1/8) times too high: the bound cannot be claimed smaller."""
    lower_edge = 2 ** (40 / 4)
    assert bucket_of(lower_edge) == 41
    assert abs(bucket_value(41) / lower_edge - (1 + RELATIVE_ERROR)) < 1e-9


def test_nearest_rank_quantiles_of_known_values() -> None:
    values = [60.0, 120.0, 600.0]
    assert exact_quantile(values, 0.5) == 120.0 and exact_quantile(values, 0.9) == 600.0
    assert quantile({}, 0.5) is None and exact_quantile([], 0.5) is None


def _report(relationship: Relationship, trusted: bool = False) -> Report:
    return Report(
        report_id="r_1",
        case_id="c_1",
        reporter_id="user-a",
        post_id="p",
        category=Category.PRIVATE_MEDIA,
        relationship=relationship,
        attestations=Attestations(accurate_and_complete=True),
        trusted_flagger=trusted,
        submitted_at=datetime(2026, 11, 2, tzinfo=UTC),
    )


def test_notice_sources() -> None:
    assert notice_source(_report(Relationship.SELF)) == "person"
    assert notice_source(_report(Relationship.OTHER)) == "person"
    assert notice_source(_report(Relationship.AUTHORIZED_REPRESENTATIVE)) == "representative"
    assert notice_source(_report(Relationship.OTHER, trusted=True)) == "trusted_flagger"


def test_periods() -> None:
    day = date(2026, 12, 31)
    assert period_of(day, "day") == "2026-12-31"
    assert period_of(day, "week") == "2026-W53"
    assert period_of(day, "month") == "2026-12"
    assert period_of(day, "total") == "total"


def test_the_csv_quotes_what_needs_quoting() -> None:
    from consent_guard.models.stats import NoticeFigures, PeriodFigures, StatsReport
    from consent_guard.services.stats import report_csv

    period = PeriodFigures(period="total", from_date=date(2026, 11, 1), to_date=date(2026, 11, 30))
    report = StatsReport(
        from_date=date(2026, 11, 1),
        to_date=date(2026, 11, 30),
        group_by="total",
        generated_at=datetime(2026, 12, 1, tzinfo=UTC),
        histogram_relative_error=RELATIVE_ERROR,
        periods=[period.model_copy(update={"notices": NoticeFigures(by_category={'a,"b"': 2})})],
        pending={},
    )
    text = report_csv(report)
    assert '"notices.by_category.a,""b"""' in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert ["total", "2026-11-01", "2026-11-30", 'notices.by_category.a,"b"', "2"] in rows


def test_counter_updates_sum_per_item_and_drop_what_the_reader_derives() -> None:
    from consent_guard.ids import shard_of
    from consent_guard.repository.stats import MAX_COUNTER_ITEMS, STATS_SHARDS, counter_updates

    rows = [
        ("D#2026-11-02#notices", "total", 1),
        ("D#2026-11-02#notices", "total", 2),
        ("D#2026-11-02#notices", "source:person", 0),  # nothing to add: left out
        ("D#2026-11-02#ttd|all|human", "b3", 1),  # derived by the reader (the categories' sum): not written
        ("D#2026-11-02#ttd|private_media|human", "b3", 1),
    ]
    actions = counter_updates("t", [("e:1:stats", rows)])
    shard = shard_of("e:1:stats", STATS_SHARDS)
    keys = [(a["Update"]["Key"]["PK"]["S"], a["Update"]["Key"]["SK"]["S"]) for a in actions]
    assert keys == [
        (f"STATS#{shard}", "D#2026-11-02#notices"),
        (f"STATS#{shard}", "D#2026-11-02#ttd|private_media|human"),
    ]
    notices = actions[0]["Update"]
    assert notices["ExpressionAttributeNames"] == {"#type": "type", "#a0": "total"}
    assert notices["ExpressionAttributeValues"][":v0"] == {"N": "3"}
    many = [(f"D#2026-11-{d:02d}#g{g}", "total", 1) for d in range(1, 21) for g in range(5)]
    with pytest.raises(ValueError, match=f"at most {MAX_COUNTER_ITEMS}"):
        counter_updates("t", [("e:2:stats", many)])  # more than one transaction holds


def test_the_all_categories_histogram_is_the_sum_of_the_categories() -> None:
    from consent_guard.services.stats import period_figures

    day = date(2026, 11, 2)
    groups = {
        "ttd|private_media|human": {"b3": 2, "b10": 1},
        "ttd|contact_information|human": {"b3": 1},
        "ttd|contact_information|automated": {"b0": 4},
        "ttd|all|human": {"b99": 50},  # stored by an earlier release: never read as such
    }
    times = period_figures("2026-11-02", day, day, groups).time_to_decision
    assert list(times) == ["all", "contact_information", "private_media"]
    assert times["all"].human.count == 4 and times["all"].automated.count == 4
    assert times["all"].human.median_seconds == times["private_media"].human.median_seconds
