"""Transparency statistics (GET /stats) on moto: a known story driven through the API - notices of each kind,
decisions at known times, appeals with known outcomes, a redelivered effect - and exactly the expected counts, and
medians and p90 within the histogram's documented bound (docs/statistics.md)."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from consent_guard.models.items import unpacked
from consent_guard.services.stats_effects import RELATIVE_ERROR, exact_quantile
from tests.conftest import load_event
from tests.handlers.conftest import Stack
from tests.handlers.test_cases import MOD, _appeal, _case, _decide, _decide_appeal, _reporter_appeal
from tests.handlers.test_hash_bank import original, removed  # noqa: F401 - fixtures

STATS = "case_api/get_stats.json"
D1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
D2 = D1 + timedelta(days=1, hours=1)
ADMIN = {"sub": "admin-1", "groups": ["admins"]}


def _stats(stack: Stack, **query: str) -> dict[str, Any]:
    status, body, _ = stack.http(STATS, query=query, **ADMIN)  # type: ignore[arg-type]
    assert status == 200, body
    return body


def _at(when: datetime) -> Any:
    return time_machine.travel(when, tick=False)


def _within_bound(estimate: float | None, values: list[float], q: float) -> bool:
    exact = exact_quantile(values, q)
    assert estimate is not None and exact is not None
    return abs(estimate - exact) <= RELATIVE_ERROR * exact + 1e-6


def _report_other(stack: Stack, sub: str, post_id: str, trusted: bool = False) -> dict[str, Any]:
    status, accepted, _ = stack.http(
        "report_intake/submit_report.json",
        body={
            "post_id": post_id,
            "category": "contact_information",
            "relationship": "other",
            "attestations": {"accurate_and_complete": True},
        },
        sub=sub,
        groups=["trusted_flaggers"] if trusted else [],
        headers={"idempotency-key": f"{sub}-{post_id}"},
    )
    assert status == 202, accepted
    return accepted


@contextmanager
def _crashing_once(monkeypatch: pytest.MonkeyPatch, method: str) -> Iterator[list[int]]:
    """The effects function dies when it is about to make the outbox item's write (`method` of CaseRepository) -
    the write that carries the item's counters: the retry repeats the sends and adds the counters once."""
    from consent_guard.repository import CaseRepository

    crashed = [0]
    write = getattr(CaseRepository, method)

    def crash(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not crashed[0]:
            crashed[0] = 1
            raise RuntimeError("crashed before the write")
        return write(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(CaseRepository, method, crash)
        yield crashed
    assert crashed[0] == 1


def _strikes(stack: Stack) -> int:
    return len([i for i in stack.table().scan()["Items"] if str(i["SK"]).startswith("STRIKE#")])


def _outbox_items(stack: Stack, case_id: str) -> list[dict[str, Any]]:
    return [i for i in stack.table().scan()["Items"] if str(i["PK"]).startswith(f"OUTBOX#case:{case_id}:")]


def test_a_known_story_gives_exactly_the_expected_figures(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # --- day 1: three automated removals (private media, the person concerned), decided 60, 120, 600 s after notice
    automated_delays = [60.0, 120.0, 600.0]
    auto_cases = []
    for i, delay in enumerate(automated_delays):
        with _at(D1 + timedelta(minutes=i)):
            stack.post_context(f"post-a{i}", author=f"user-author-a{i}")
            auto_cases.append(stack.report(sub=f"user-a{i}", post_id=f"post-a{i}")["case_id"])
        with _at(D1 + timedelta(minutes=i, seconds=delay)):
            stack.run_pipeline()
    # --- day 1: contact information reported by others: people decide
    human_cases = []
    for i in range(3):
        with _at(D1 + timedelta(hours=1, minutes=i)):
            stack.post_context(f"post-b{i}", author=f"user-author-b{i}")
            human_cases.append(_report_other(stack, f"user-b{i}", f"post-b{i}"))
            stack.run_pipeline()
    human_times: list[float] = []
    for i, (outcome, hours) in enumerate([("remove", 1), ("remove", 2), ("no_violation", 3)]):
        case_id = human_cases[i]["case_id"]
        with _at(D1 + timedelta(hours=1 + hours, minutes=i)):
            version = _case(stack, case_id)["case"]["version"]
            status, decided = _decide(stack, case_id, version, outcome=outcome)
            assert status == 200, decided
            if i == 1:
                kept = _outbox_items(stack, case_id)  # what the decision owes, before it is delivered
                assert len(kept) == 1 and '"kind":"stats"' in unpacked(kept[0]["effects"])
                with _crashing_once(monkeypatch, "complete_outbox"):  # after its sends, before its counted removal
                    stack.run_pipeline()
            stack.run_pipeline()
        human_times.append(hours * 3600.0)
    # --- day 1: one reporter's manifestly unfounded notices (three posts; another person reported the first too)
    for i in range(3):
        with _at(D1 + timedelta(hours=4, minutes=i)):
            stack.post_context(f"post-t{i}", author=f"user-author-t{i}")
            case_id = _report_other(stack, "user-troll", f"post-t{i}")["case_id"]
            if i == 0:
                _report_other(stack, "user-c", "post-t0")
            stack.run_pipeline()
        with _at(D1 + timedelta(hours=6, minutes=i)):
            version = _case(stack, case_id)["case"]["version"]
            status, decided = _decide(stack, case_id, version, outcome="no_violation", manifestly_unfounded=True)
            assert status == 200, decided
            stack.run_pipeline()
        human_times.append(2 * 3600.0)
    # --- day 1: two cases still pending: one from a trusted flagger
    with _at(D1 + timedelta(hours=7)):
        stack.post_context("post-p0", author="user-author-p0")
        stack.post_context("post-f0", author="user-author-f0")
        _report_other(stack, "user-p0", "post-p0")
        _report_other(stack, "user-flagger", "post-f0", trusted=True)
        stack.run_pipeline()
    # --- the redelivery: the decision's announcement comes back after its item was delivered (counted and gone)
    with _at(D1 + timedelta(hours=8)):
        assert not _outbox_items(stack, human_cases[1]["case_id"])
        stack.session.client("sqs").send_message(
            QueueUrl=stack.resources.queues["EffectsQueue"],
            MessageBody=json.dumps({"type": "outbox_ready", "outbox_id": kept[0]["outbox_id"]}),
        )
        stack.run_pipeline()
        assert not _outbox_items(stack, human_cases[1]["case_id"])  # delivered (again) and gone

    day1 = _stats(stack, **{"from": "2026-11-02", "to": "2026-11-02", "group_by": "day"})["periods"][0]
    assert day1["notices"] == {
        "total": 12,
        "by_category": {"contact_information": 9, "private_media": 3},
        "by_source": {"person": 11, "trusted_flagger": 1},
        "manifestly_unfounded": 4,
    }
    decisions = day1["decisions"]
    assert (decisions["total"], decisions["automated"], decisions["human"]) == (9, 3, 6)
    assert decisions["by_outcome"] == {"no_violation": 4, "remove": 5}
    assert decisions["by_outcome_automated"] == {"remove": 3}
    assert decisions["by_outcome_human"] == {"no_violation": 4, "remove": 2}
    assert decisions["manifestly_unfounded"] == 3
    assert decisions["by_category"] == {"contact_information": 6, "private_media": 3}
    assert day1["art23"] == {"warnings": 1, "suspensions": 0}
    measures = day1["enforcement"]["by_measure"]
    assert measures["content.hide"] == 5
    assert day1["strikes"]["issued"] == _strikes(stack)
    auto = day1["time_to_decision"]["private_media"]["automated"]
    assert auto["count"] == 3 and day1["time_to_decision"]["private_media"]["human"]["count"] == 0
    assert _within_bound(auto["median_seconds"], automated_delays, 0.5)
    assert _within_bound(auto["p90_seconds"], automated_delays, 0.9)
    human = day1["time_to_decision"]["contact_information"]["human"]
    assert human["count"] == 6
    assert _within_bound(human["median_seconds"], human_times, 0.5)
    assert _within_bound(human["p90_seconds"], human_times, 0.9)
    assert day1["time_to_decision"]["all"]["automated"]["count"] == 3

    # --- day 2: a late decision (past the 24 h review deadline), then appeals with known outcomes
    with _at(D2):
        stack.post_context("post-b9", author="user-author-b9")
        late = _report_other(stack, "user-b9", "post-b9")["case_id"]
        stack.run_pipeline()
    with _at(D2 + timedelta(hours=30)):
        version = _case(stack, late)["case"]["version"]
        assert _decide(stack, late, version, outcome="remove")[0] == 200
        stack.run_pipeline()
    d3 = D2 + timedelta(days=2)
    appeals = [(auto_cases[0], "user-author-a0", "overturn", 2), (auto_cases[1], "user-author-a1", "uphold", 4)]
    appeals.append((human_cases[0]["case_id"], "user-author-b0", "uphold", 1))
    with _at(d3):
        for case_id, author, _, _ in appeals:
            assert _appeal(stack, case_id, author)[0] == 200
        assert _reporter_appeal(stack, human_cases[2]["report_id"], "user-b2")[0] == 200
        stack.run_pipeline()
    strikes_before = _strikes(stack)
    for case_id, _, result, hours in appeals:
        with _at(d3 + timedelta(hours=hours)):
            version = _case(stack, case_id, sub="app-1", groups=["appeals"])["case"]["version"]
            status, decided = _decide_appeal(stack, case_id, version, result, "PIM-8" if result == "overturn" else None)
            assert status == 200, decided
            stack.run_pipeline()
    with _at(d3 + timedelta(minutes=30)):
        case_id = human_cases[2]["case_id"]
        version = _case(stack, case_id, sub="app-1", groups=["appeals"])["case"]["version"]
        assert _decide_appeal(stack, case_id, version, "uphold", None)[0] == 200
        stack.run_pipeline()
    withdrawn = strikes_before - _strikes(stack)

    with _at(d3 + timedelta(hours=5)):
        report = _stats(stack, **{"from": "2026-11-01", "to": "2026-11-30", "group_by": "total"})
    (total,) = report["periods"]
    assert (total["period"], total["from_date"], total["to_date"]) == ("total", "2026-11-01", "2026-11-30")
    assert total["notices"]["total"] == 13 and total["decisions"]["total"] == 10
    assert total["sla"]["breached_decisions"] == 1 and total["sla"]["breached_by_category"] == {
        "contact_information": 1
    }
    human_times.append(30 * 3600.0)
    human = total["time_to_decision"]["contact_information"]["human"]
    assert human["count"] == 7 and _within_bound(human["median_seconds"], human_times, 0.5)
    assert _within_bound(human["p90_seconds"], human_times, 0.9)
    a = total["appeals"]
    assert (a["filed"], a["filed_by_author"], a["filed_by_reporter"]) == (4, 3, 1)
    assert (a["decided"], a["upheld"], a["reversed"]) == (4, 3, 1)
    assert a["reversal_rate"] == 0.25
    assert (a["automated_decided"], a["automated_reversed"], a["automated_reversal_rate"]) == (2, 1, 0.5)
    assert a["automated_error_rate"] == round(1 / 3, 6)
    appeal_times = [2 * 3600.0, 4 * 3600.0, 3600.0, 1800.0]
    assert a["decision_time"]["count"] == 4 and _within_bound(a["decision_time"]["median_seconds"], appeal_times, 0.5)
    assert total["strikes"]["withdrawn"] == withdrawn
    assert total["strikes"]["issued"] == _strikes(stack) + withdrawn
    assert total["enforcement"]["lifted_by_reason"].get("appeal_overturned") == 1
    # pending now: the two cases in review since day 1 (nothing else waits)
    assert report["pending"]["in_review"] == {"count": 2, "oldest_since": "2026-11-02", "oldest_age_days": 3}
    assert report["pending"]["appealed"]["count"] == 0 and report["pending"]["needs_context"]["count"] == 0


def test_the_csv_parses_with_pythons_csv_module_and_matches_the_json(stack: Stack) -> None:
    with _at(D1):
        stack.post_context("post-a0", author="user-author-a0")
        stack.report(sub="user-a0", post_id="post-a0")
        stack.run_pipeline()
    event = copy.deepcopy(load_event(STATS))
    event["headers"]["accept"] = "text/csv"
    event["queryStringParameters"] = {"from": "2026-11-01", "to": "2026-11-03", "group_by": "day"}
    event["rawQueryString"] = "from=2026-11-01&to=2026-11-03&group_by=day"
    with _at(D1 + timedelta(hours=1)):
        response = stack.handler("case_api").lambda_handler(event, stack.context)
        report = _stats(stack, **{"from": "2026-11-01", "to": "2026-11-03", "group_by": "day"})
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["headers"]["Content-Disposition"]
    text = response["body"]
    assert "\r\n" in text and text.encode("utf-8").decode("utf-8") == text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == ["period", "from", "to", "metric", "value"]
    figures = {(r["period"], r["metric"]): r["value"] for r in rows}
    assert figures[("2026-11-02", "notices.total")] == "1"
    assert figures[("2026-11-01", "notices.total")] == "0"
    assert figures[("2026-11-02", "notices.by_category.private_media")] == "1"
    assert figures[("2026-11-02", "decisions.by_outcome_automated.remove")] == "1"
    assert figures[("2026-11-02", "appeals.reversal_rate")] == ""
    assert figures[("now", "pending.in_review.count")] == "0"
    assert {r["period"] for r in rows} == {"2026-11-01", "2026-11-02", "2026-11-03", "now"}
    assert report["periods"][1]["notices"]["total"] == 1


def test_bad_from_to_and_group_by_are_field_errors_and_only_admins_see_stats(stack: Stack) -> None:
    cases = [
        ({"from": "2026-13-01"}, ["query", "from"]),
        ({"to": "yesterday"}, ["query", "to"]),
        ({"group_by": "hour"}, ["query", "group_by"]),
        ({"from": "2026-11-02", "to": "2026-11-01"}, ["query", "from"]),
        ({"from": "2024-01-01", "to": "2026-11-01"}, ["query", "to"]),
    ]
    for query, loc in cases:
        status, body, _ = stack.http(STATS, query=query, **ADMIN)  # type: ignore[arg-type]
        assert status == 422, (query, body)
        assert [e["loc"] for e in body["errors"]] == [loc], body
    for sub, groups in (("mod-1", MOD), ("app-1", ["appeals"]), ("user-alice", [])):
        status, body, _ = stack.http(STATS, sub=sub, groups=groups)
        assert status == 403, body
    status, _, _ = stack.http(STATS, query={"from": "2026-13-01"}, sub="mod-1", groups=MOD)
    assert status in (403, 422)  # a bad query is refused either way; nothing about the figures is answered


def test_a_stats_effect_counts_once_with_its_outbox_items_own_write(stack: Stack) -> None:
    """The counters' exactly-once guard is the outbox item's step: their ADDs go in the transaction of its
    conditional removal (or advance), so a redelivery or a stale deliverer (the step moved) adds nothing."""
    from consent_guard.models.effects import Outbox
    from consent_guard.repository import CaseRepository
    from consent_guard.repository.outbox import outbox_put
    from consent_guard.repository.stats import StatsRepository, counter_updates
    from consent_guard.services.stats_effects import stats_effect

    table, client = stack.resources.tables["ConsentGuardTable"], stack.session.client("dynamodb")
    repository = CaseRepository(table, client)
    rows = [("D#2026-11-02#notices", "total", 1), ("D#2026-11-02#notices", "category:private_media", 1)]
    stale = [("D#2026-11-02#ttd|all|human", "b3", 1)]  # a derived item, in an item stored by an earlier release
    for outbox_id in ("case:c_x:1", "case:c_y:1"):
        effect = stats_effect(outbox_id, [*rows, *stale])
        assert effect is not None
        outbox = Outbox(outbox_id=outbox_id, effects=(effect,))
        client.transact_write_items(TransactItems=[outbox_put(table, outbox, D1)])

    x = counter_updates(table, [("case:c_x:1:stats", [*rows, *stale])])
    assert len(x) == 1  # one item, its two counters in one ADD; the derived one dropped
    assert repository.complete_outbox("case:c_x:1", 0, x) is True
    assert repository.complete_outbox("case:c_x:1", 0, x) is False  # redelivered: the item is gone, nothing added

    y = counter_updates(table, [("case:c_y:1:stats", rows)])
    assert repository.mark_counted("case:c_y:1", 0, y) is True  # held back by a poison effect: counted on its own
    assert repository.complete_outbox("case:c_y:1", 0, y) is False  # a deliverer that read step 0: nothing added
    kept = repository.get_outbox("case:c_y:1")
    assert kept is not None and kept.counted and kept.step == 1
    assert repository.complete_outbox("case:c_y:1", 1) is True  # the fixed item's removal adds nothing more

    day = StatsRepository(table, client).daily(D1.date(), D1.date())
    assert day["2026-11-02"] == {"notices": {"total": 2, "category:private_media": 2}}
    assert not [i for i in stack.table().scan()["Items"] if str(i["PK"]).startswith("STATSFX#")]  # no markers


@pytest.mark.usefixtures("removed")  # a moderator removed intimate media: its photo is banked
def test_hash_matches_count_as_own_detection_and_their_reversals_as_the_banks_error_rate(stack: Stack) -> None:
    from consent_guard.ids import case_id_for
    from tests.handlers.test_hash_bank import put_post, run_all
    from tests.hashing import photo, reencoded_and_resized, signals_of

    put_post(stack, "post-2", "user-carol", [signals_of(reencoded_and_resized(photo(7)))], is_reshare=True)
    run_all(stack)
    matched = case_id_for("post-2", "intimate_media")
    view = _case(stack, matched)
    assert view["case"]["state"] == "actioned" and view["decision"]["automated"]
    assert _appeal(stack, matched, "user-carol")[0] == 200
    version = _case(stack, matched, sub="app-1", groups=["appeals"])["case"]["version"]
    assert _decide_appeal(stack, matched, version, "overturn", "PIM-10")[0] == 200
    run_all(stack)

    (total,) = _stats(stack, group_by="total")["periods"]
    assert total["notices"]["by_source"] == {"own_detection": 1, "person": 1}
    assert total["decisions"]["hash_match"] == 1 and total["decisions"]["automated"] == 1
    a = total["appeals"]
    assert (a["hash_match_decided"], a["hash_match_reversed"], a["hash_match_reversal_rate"]) == (1, 1, 1.0)
    assert (a["automated_decided"], a["automated_reversed"]) == (1, 1)
