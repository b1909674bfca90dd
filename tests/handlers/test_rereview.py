"""The scheduled re-review on moto, with time frozen and moved by time_machine: review SLAs, waiting cases, claims,
strikes and retention; repeated, overlapping and cut-short runs; and a cost that follows the work due, not the
table size."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from consent_guard.messaging import QueuePublisher
from consent_guard.models import items as it
from consent_guard.repository import CaseRepository
from consent_guard.services.review import MODERATORS, ReReviewService, RunSummary
from tests.handlers.conftest import Stack

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GET_CASE = "case_api/get_case.json"
CLAIM = "case_api/claim_case.json"
APPEAL = "case_api/appeal_case.json"
DECIDE_APPEAL = "case_api/decide_appeal.json"
GET_REPORT = "report_intake/get_report.json"
MOD = ["moderators"]


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


# ---------------------------------------------------------------- helpers


def _repository(stack: Stack) -> CaseRepository:
    return CaseRepository(stack.resources.tables["ConsentGuardTable"])


def _service(stack: Stack) -> ReReviewService:
    return ReReviewService(
        _repository(stack),
        QueuePublisher(stack.resources.queues["EvaluationQueue"]),
        QueuePublisher(stack.resources.queues["EffectsQueue"]),
    )


def _in_review(stack: Stack, post_id: str = "post-1001", reporter: str = "user-dave") -> str:
    """Private information reported by someone else: a moderator reviews it (priority 2, 24 hours)."""
    stack.post_context(post_id)
    accepted = stack.report(sub=reporter, post_id=post_id, category="contact_information", relationship="other")
    stack.run_pipeline()
    return str(accepted["case_id"])


def _bystander(stack: Stack, post_id: str = "post-1001", reporter: str = "user-dave") -> dict[str, Any]:
    """Private media reported by someone else: the case waits for the person depicted."""
    stack.post_context(post_id)
    accepted = stack.report(sub=reporter, post_id=post_id, relationship="other")
    stack.run_pipeline()
    return accepted


def _case(stack: Stack, case_id: str) -> dict[str, Any]:
    status, view, _ = stack.http(GET_CASE, path_params={"case_id": case_id}, sub="mod-1", groups=MOD)
    assert status == 200, view
    return view


def _item(stack: Stack, key: dict[str, str]) -> dict[str, Any]:
    return dict(stack.table().get_item(Key=key, ConsistentRead=True)["Item"])


def _events(stack: Stack, case_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
    events = _case(stack, case_id)["events"]
    return [e for e in events if event_type in (None, e["type"])]


def _moderators_inbox(stack: Stack) -> list[Any]:
    return _repository(stack).inbox(MODERATORS, 50, None)[0]


def _due_kinds(stack: Stack) -> list[str]:
    """Every timer in the DueIndex, due or not, by kind."""
    items = [i for i in stack.table().scan()["Items"] if "DSK" in i]
    return sorted(it.due_kind(i["DSK"]) for i in items)


def _run(stack: Stack) -> dict[str, Any]:
    summary = stack.scheduled_review()
    stack.run_pipeline()
    return summary


def _claim(stack: Stack, case_id: str, sub: str = "mod-1") -> dict[str, Any]:
    status, body, _ = stack.http(CLAIM, path_params={"case_id": case_id}, sub=sub, groups=MOD)
    assert status == 200, body
    return body


# ---------------------------------------------------------------- review SLA


def test_a_case_past_its_review_deadline_is_escalated_once_and_moderators_are_told(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    case_id = _in_review(stack)
    assert it.due_kind(_item(stack, it.case_key(case_id))["DSK"]) == "review_sla"
    clock.shift(timedelta(hours=23, minutes=59))
    assert _run(stack)["acted"] == {}

    clock.shift(timedelta(minutes=2))
    first = _run(stack)
    again = _run(stack)

    assert first["acted"] == {"review_sla": 1} and first["notifications"] == 1
    assert again["acted"] == {} and again["timers_read"] == 0
    view = _case(stack, case_id)
    assert view["case"]["state"] == "in_review" and view["case"]["review_priority"] == 0
    escalated = _events(stack, case_id, "escalated")
    assert len(escalated) == 1 and escalated[0]["actor"] == "system"
    assert escalated[0]["data"]["reason"] == "review_sla" and escalated[0]["data"]["priority_before"] == 3
    item = _item(stack, it.case_key(case_id))
    assert item["LSK"].startswith("0#") and "DSK" not in item  # head of the queue, no timer left
    notices = _moderators_inbox(stack)
    assert [n.kind.value for n in notices] == ["sla_breach"] and case_id in notices[0].body

    # a new report that changes the decision keeps the case escalated and does not re-arm the deadline
    stack.report(
        sub="user-erin",
        category="contact_information",
        relationship="self",
        attestations={"accurate_and_complete": True},
    )
    stack.run_pipeline()
    assert len(_events(stack, case_id, "evaluated")) == 2
    item = _item(stack, it.case_key(case_id))
    assert item["LSK"].startswith("0#") and "DSK" not in item
    clock.shift(timedelta(days=2))
    assert _run(stack)["acted"] == {}
    assert len(_moderators_inbox(stack)) == 1


# ---------------------------------------------------------------- waiting for the person depicted


def test_a_case_waiting_for_the_person_depicted_is_closed_after_14_days_and_its_reporters_told(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    accepted = _bystander(stack)
    stack.report(sub="user-frank", relationship="other")
    stack.run_pipeline()
    case_id = accepted["case_id"]
    clock.shift(timedelta(days=13, hours=23))
    assert _run(stack)["acted"] == {}

    clock.shift(timedelta(hours=1, minutes=1))
    first = _run(stack)
    again = _run(stack)

    assert first["acted"] == {"first_person_wait": 1}  # the reporters are told by a fan-out of the effects function
    assert again["acted"] == {}
    closed = _events(stack, case_id, "closed")
    assert len(closed) == 1 and closed[0]["actor"] == "system"
    assert closed[0]["data"]["reason"] == "insufficient_report" and closed[0]["data"]["rule_ids"] == ["PIM-3"]
    assert stack.report_view(accepted["report_id"], sub="user-dave")["status"] == "closed"
    for reporter in ("user-dave", "user-frank"):
        notices = [n for n in stack.inbox(reporter) if n["kind"] == "case_closed"]
        assert len(notices) == 1 and "14 days" in notices[0]["body"]
    item = _item(stack, it.case_key(case_id))
    assert item["closed_reason"] == "insufficient_report"
    assert item["due_kind"] == "retention"  # the closed case keeps its reports until its retention ends
    assert stack.enforcement_events() == []


def test_a_first_person_report_within_the_wait_reopens_the_case_and_nothing_is_closed(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    accepted = _bystander(stack)
    clock.shift(timedelta(days=7))
    stack.report(sub="user-alice")  # the person depicted reports
    stack.run_pipeline()
    assert _case(stack, accepted["case_id"])["case"]["state"] == "actioned"

    clock.shift(timedelta(days=8))
    assert _run(stack)["acted"] == {}
    assert _events(stack, accepted["case_id"], "closed") == []
    assert "case_closed" not in [n["kind"] for n in stack.inbox("user-dave")]
    assert "outcome" in [n["kind"] for n in stack.inbox("user-dave")]


# ---------------------------------------------------------------- waiting for the post's facts


def test_a_case_without_the_posts_facts_is_retried_then_sent_to_review_after_72_hours(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    accepted = stack.report()  # no facts about the post yet
    stack.run_pipeline()
    case_id = accepted["case_id"]
    assert _case(stack, case_id)["case"]["state"] == "needs_context"

    clock.shift(timedelta(minutes=16))
    retried = stack.scheduled_review()
    assert retried["acted"] == {"needs_context": 1}
    assert [json.loads(m["Body"])["reason"] for m in stack.receive("EvaluationQueue")] == ["needs_context_retry"]
    stack.run_pipeline()
    assert _case(stack, case_id)["case"]["state"] == "needs_context"
    assert stack.scheduled_review()["acted"] == {}  # moved 15 minutes on: not due again yet

    clock.shift(timedelta(hours=72))
    first = _run(stack)
    again = _run(stack)

    assert first["acted"] == {"needs_context_limit": 1} and again["acted"] == {}
    view = _case(stack, case_id)
    assert view["case"]["state"] == "in_review"
    assert view["case"]["review_priority"] == 3  # the policy's review tier: everything else, 24 hours
    assert view["case"]["review_due_at"].startswith("2026-11-29T12:16")
    escalated = _events(stack, case_id, "escalated")
    assert len(escalated) == 1 and escalated[0]["data"]["reason"] == "needs_context_limit"
    assert escalated[0]["data"]["rule_ids"] == ["PIM-2"]
    status, page, _ = stack.http("case_api/list_cases.json", query={"queue": "review"}, sub="mod-1", groups=MOD)
    assert status == 200 and [c["case_id"] for c in page["items"]] == [case_id]
    assert it.due_kind(_item(stack, it.case_key(case_id))["DSK"]) == "review_sla"

    # facts arriving later still decide the case
    stack.post_context()
    stack.run_pipeline()
    assert _case(stack, case_id)["case"]["state"] == "actioned"


# ---------------------------------------------------------------- claims


def test_a_lapsed_claim_is_released_visibly_and_the_review_deadline_stays(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    case_id = _in_review(stack)
    _claim(stack, case_id)
    # one timer per item: the earlier of the claim's expiry and the review deadline
    assert it.due_kind(_item(stack, it.case_key(case_id))["DSK"]) == "claim_expiry"

    clock.shift(timedelta(minutes=31))
    first = _run(stack)
    again = _run(stack)

    assert first["acted"] == {"claim_expiry": 1} and again["acted"] == {}
    view = _case(stack, case_id)
    assert view["case"]["claimed_by"] is None and view["case"]["claim_expires_at"] is None
    assigned = _events(stack, case_id, "assigned")
    assert [e["actor"] for e in assigned] == ["mod-1", "system"]
    assert assigned[-1]["data"]["released"] is True and assigned[-1]["data"]["claimed_by"] == "mod-1"
    assert it.due_kind(_item(stack, it.case_key(case_id))["DSK"]) == "review_sla"
    # another moderator takes it
    assert _claim(stack, case_id, sub="mod-2")["claimed_by"] == "mod-2"


# ---------------------------------------------------------------- strikes


def test_an_expired_strike_is_recorded_on_its_case_and_published_once(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    stack.post_context()
    case_id = stack.report()["case_id"]
    stack.run_pipeline()
    stack.enforcement_events()
    strike_key = it.strike_key("user-bob", case_id)
    assert it.due_kind(_item(stack, strike_key)["DSK"]) == "strike_expiry"

    clock.shift(timedelta(days=364))
    assert "strike_expiry" not in _run(stack)["acted"]
    clock.shift(timedelta(days=1, minutes=1))
    first = _run(stack)
    again = _run(stack)

    assert first["acted"]["strike_expiry"] == 1 and first["enforcement_events"] == 1
    assert again["acted"] == {}
    lifted = _events(stack, case_id, "enforcement_lifted")
    assert len(lifted) == 1 and lifted[0]["data"]["reason"] == "strike_expired"
    published = stack.enforcement_events()
    assert [e["detail-type"] for e in published] == ["strike.expired"]
    assert published[0]["detail"]["account_id"] == "user-bob" and published[0]["detail"]["rule_ids"] == ["PIM-8"]
    strike = _item(stack, strike_key)  # kept as history, without a timer
    assert "DSK" not in strike and strike["expired_at"]
    assert _case(stack, case_id)["measures_active"] == ["content.hide", "account.lock"]  # a strike is not a measure


# ---------------------------------------------------------------- retention


def test_retention_erases_the_reports_personal_data_and_keeps_the_decision(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    stack.post_context()
    alice = stack.report(description="Jane Roe from flat 3 posted my photo")
    stack.report(sub="user-dave", relationship="other", description="my friend Alice is in this photo")
    stack.run_pipeline()
    case_id = alice["case_id"]
    item = _item(stack, it.case_key(case_id))
    assert item["due_kind"] == "retention" and item["due_at"].startswith("2027-06-26")  # 183 + 30 days

    clock.shift(timedelta(days=212))
    assert "retention" not in _run(stack)["acted"]
    clock.shift(timedelta(days=1, minutes=1))
    first = _run(stack)
    again = _run(stack)

    assert first["acted"]["retention"] == 1 and first["reports_erased"] == 2
    assert again["acted"] == {} and again["reports_erased"] == 0
    erased = _events(stack, case_id, "erased")
    assert len(erased) == 1 and erased[0]["actor"] == "system" and erased[0]["data"]["reports"] == 2
    view = _case(stack, case_id)
    assert view["case"]["state"] == "actioned" and view["decision"]["rule_ids"] == ["PIM-8", "PIM-E5", "PIM-A2"]
    assert [r["description"] for r in view["reports"]] == ["", ""]
    assert {r["reporter_id"] for r in view["reports"]} == {"erased"}
    assert sorted(r["relationship"] for r in view["reports"]) == ["other", "self"]  # anonymous counts remain
    # the report, its case, its history and its markers no longer hold who reported or what they wrote
    # (the reporter's own inbox keeps their notifications; a quota counter lives for its window, under TTL)
    for record in stack.table().scan()["Items"]:
        if record["type"] not in ("report", "case", "case_event", "dedupe", "idempotency"):
            continue
        text = json.dumps(record, default=_readable)
        assert "user-alice" not in text and "user-dave" not in text, record["type"]
        assert "Jane Roe" not in text and "Alice is" not in text, record["type"]
    assert not [i for i in stack.table().scan()["Items"] if i["PK"].startswith("DEDUPE#")]
    status, _, _ = stack.http(GET_REPORT, path_params={"report_id": alice["report_id"]}, sub="user-alice")
    assert status == 404  # the report no longer links to its reporter
    assert "DSK" not in _item(stack, it.case_key(case_id))


def test_an_open_appeal_postpones_retention(stack: Stack, clock: time_machine.Coordinates) -> None:
    stack.post_context()
    case_id = stack.report(description="that is me")["case_id"]
    stack.run_pipeline()
    clock.shift(timedelta(days=182))
    status, _, _ = stack.http(
        APPEAL, path_params={"case_id": case_id}, body={"reason": "she agreed, ask Joe"}, sub="user-bob"
    )
    assert status == 200
    stack.run_pipeline()  # the appeal's statistics go out (else the outbox's safety net announces them)

    clock.shift(timedelta(days=32))
    held = _run(stack)
    assert held["acted"] == {} and held["postponed"] == {"retention": 1} and held["reports_erased"] == 0
    assert _run(stack)["postponed"] == {}  # looked at again tomorrow, not every run
    assert _case(stack, case_id)["reports"][0]["description"] == "that is me"

    version = _case(stack, case_id)["case"]["version"]
    status, body, _ = stack.http(
        DECIDE_APPEAL,
        path_params={"case_id": case_id},
        body={"result": "uphold", "version": version, "note": "Joe is not the person depicted"},
        sub="app-1",
        groups=["appeals"],
    )
    assert status == 200, body
    stack.run_pipeline()  # what the appeal's decision owes goes out (else the outbox's safety net announces it)
    clock.shift(timedelta(days=1, minutes=1))
    erased = _run(stack)
    assert erased["acted"] == {"retention": 1} and erased["reports_erased"] == 1
    events = _events(stack, case_id)
    appealed = next(e for e in events if e["type"] == "appealed")
    assert appealed["actor"] == "erased"  # who appealed
    assert all(not e["data"].get("note") for e in events)  # free-text notes
    assert "ask Joe" not in json.dumps(_item(stack, it.case_key(case_id)), default=_readable)


def test_an_erasure_cut_short_resumes_and_is_recorded_once(stack: Stack, clock: time_machine.Coordinates) -> None:
    stack.post_context()
    case_id = stack.report(description="me")["case_id"]
    for reporter in ("user-dave", "user-frank"):
        stack.report(sub=reporter, relationship="other", description=f"{reporter} saw it")
    stack.run_pipeline()
    clock.shift(timedelta(days=214))
    service = _service(stack)
    erasures: list[bool] = []
    original = service.repository.erase_report

    def counting(*args: Any) -> bool:
        erasures.append(original(*args))
        return erasures[-1]

    service.repository.erase_report = counting  # type: ignore[method-assign]

    cut = service.run(lambda: 0 if erasures else 60_000)  # time runs out after the first report

    assert cut.stopped_early and cut.reports_erased == 1 and cut.acted == {}
    assert _events(stack, case_id, "erased") == []
    assert sorted(bool(r["description"]) for r in _case(stack, case_id)["reports"]) == [False, True, True]
    assert service.run().timers_read == 0  # the erasure holds its timer: an overlapping run leaves it alone
    clock.shift(timedelta(minutes=16))
    resumed = service.run()
    assert resumed.acted == {"retention": 1} and resumed.reports_erased == 2
    assert len(_events(stack, case_id, "erased")) == 1
    assert [r["description"] for r in _case(stack, case_id)["reports"]] == ["", "", ""]


def test_decided_and_closed_cases_get_their_retention_timer() -> None:
    """with_timer gives every decided or closed case its retention timer (the moderators' and appeal decisions in
    services/cases.py get it by calling with_timer, as evaluation does)."""
    from consent_guard.models.domain import Case, CaseState, Category
    from consent_guard.policy import load_policy
    from consent_guard.services.timers import with_timer

    policy = load_policy()
    base = Case(
        case_id="c_1",
        post_id="p",
        category=Category.PRIVATE_MEDIA,
        state=CaseState.IN_REVIEW,
        version=3,
        created_at=T0,
        updated_at=T0,
    )
    decided = base.model_copy(update={"state": CaseState.ACTIONED, "decided_at": T0})
    timed = with_timer(decided, base, T0, policy)
    assert (timed.due_kind, timed.due_at) == ("retention", T0 + timedelta(days=213))
    closed = base.model_copy(update={"state": CaseState.CLOSED, "closed_at": T0 + timedelta(days=14)})
    assert with_timer(closed, base, T0, policy).due_at == T0 + timedelta(days=14 + 213)
    erased = decided.model_copy(update={"erased_at": T0})
    assert with_timer(erased, decided, T0, policy).due_kind is None


# ---------------------------------------------------------------- every kind at once: repeated, interleaved, cut short

EXPECTED = {
    "report_stuck": 1,
    "review_sla": 1,
    "first_person_wait": 1,
    "needs_context_limit": 1,
    "claim_expiry": 1,
    "strike_expiry": 1,
    "retention": 1,
}


def _everything_due(stack: Stack, clock: time_machine.Coordinates) -> tuple[datetime, dict[str, str]]:
    """One timer of every kind, all due at R = T0 + 366 days (time is at T0 on entry and at R on return)."""
    r = T0 + timedelta(days=366)
    cases: dict[str, str] = {}
    stack.post_context("post-e")
    cases["strike"] = stack.report(post_id="post-e", description="that is me")["case_id"]  # strike and retention
    stack.run_pipeline()
    stack.enforcement_events()  # drained now: moto stops receiving at a message past the queue's retention
    cases["claim"] = _in_review(stack, "post-d")
    clock.shift(timedelta(hours=25))
    assert _run(stack)["acted"] == {"review_sla": 1}  # the claimed case is escalated long before
    clock.move_to(r - timedelta(days=15))
    cases["first_person_wait"] = _bystander(stack, "post-b")["case_id"]
    clock.move_to(r - timedelta(days=4))
    cases["needs_context"] = stack.report(post_id="post-c")["case_id"]
    stack.run_pipeline()
    clock.move_to(r - timedelta(days=2))
    cases["review_sla"] = _in_review(stack, "post-a")
    clock.move_to(r - timedelta(minutes=31))
    _claim(stack, cases["claim"])
    clock.move_to(r - timedelta(minutes=10))
    stuck = stack.report(post_id="post-f")
    for message in stack.receive("EvaluationQueue"):  # the evaluation never happens: the report is stuck
        stack.session.client("sqs").delete_message(
            QueueUrl=stack.resources.queues["EvaluationQueue"], ReceiptHandle=message["ReceiptHandle"]
        )
    cases["report_stuck"] = stuck["report_id"]
    clock.move_to(r)
    return r, cases


def _merged(*summaries: RunSummary | dict[str, Any]) -> dict[str, int]:
    total: dict[str, int] = {}
    for summary in summaries:
        acted = summary.acted if isinstance(summary, RunSummary) else summary["acted"]
        for kind, n in acted.items():
            total[kind] = total.get(kind, 0) + n
    return total


def _acted_once_each(stack: Stack, cases: dict[str, str]) -> None:
    """The effects of one run over `_everything_due`, each exactly once."""
    requeued = [json.loads(m["Body"]) for m in stack.receive("EvaluationQueue")]
    # the timer knows the report only: no hints of where it belongs (the evaluation reads the report first)
    assert [{k: v for k, v in m.items() if v is not None} for m in requeued] == [
        {"type": "report_submitted", "report_id": cases["report_stuck"]}
    ]
    stack.run_pipeline()
    assert len(_events(stack, cases["review_sla"], "escalated")) == 1
    assert len(_events(stack, cases["claim"], "escalated")) == 1  # from the early run only
    assert len(_events(stack, cases["first_person_wait"], "closed")) == 1
    assert len(_events(stack, cases["needs_context"], "escalated")) == 1
    assert [e["data"].get("released") for e in _events(stack, cases["claim"], "assigned")] == [None, True]
    assert len(_events(stack, cases["strike"], "enforcement_lifted")) == 1
    assert len(_events(stack, cases["strike"], "erased")) == 1
    assert [n.kind.value for n in _moderators_inbox(stack)] == ["sla_breach", "sla_breach"]
    assert [n["kind"] for n in stack.inbox("user-dave")].count("case_closed") == 1
    assert [e["detail-type"] for e in stack.enforcement_events()] == ["strike.expired"]
    assert stack.report_view(cases["report_stuck"])["status"] == "needs_context"  # evaluated at last (no facts)
    # nothing owed is left behind: no follow-up timer, no timer due
    assert not {"sla_notify", "close_notify", "strike_publish"} & set(_due_kinds(stack))


def test_every_kind_is_acted_on_once_and_a_repeated_run_does_nothing(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    _, cases = _everything_due(stack, clock)
    first = stack.scheduled_review()
    again = stack.scheduled_review()

    assert first["acted"] == EXPECTED and first["skipped"] == 0 and first["failed"] == 0
    assert first["due"] == {kind.removesuffix("_limit"): 1 for kind in EXPECTED}
    assert first["notifications"] == 2 and first["enforcement_events"] == 1 and first["reports_erased"] == 1
    assert first["stopped_early"] is False
    assert again["acted"] == {} and again["timers_read"] == 0
    _acted_once_each(stack, cases)


def test_two_overlapping_runs_act_on_each_item_once(
    stack: Stack, clock: time_machine.Coordinates, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cases = _everything_due(stack, clock)
    first, second = _service(stack), _service(stack)
    seconds: list[RunSummary] = []
    save = first.repository.save_case_change

    def pause_then_save(change: Any) -> None:
        if not seconds:  # the first run stops between reading a case and writing it; the second runs meanwhile
            seconds.append(second.run())
        save(change)

    monkeypatch.setattr(first.repository, "save_case_change", pause_then_save)
    one = first.run()

    assert seconds and seconds[0].acted
    assert _merged(one, seconds[0]) == EXPECTED
    assert one.skipped >= 1 and one.failed == seconds[0].failed == 0
    _acted_once_each(stack, cases)


def test_a_run_cut_short_leaves_the_rest_for_the_next_run_and_nothing_half_done(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    _, cases = _everything_due(stack, clock)
    service = _service(stack)
    started: list[str] = []
    act = service._act

    def counting(timer: dict[str, Any], run: Any) -> None:
        started.append(timer["DSK"])
        act(timer, run)

    service._act = counting  # type: ignore[method-assign]
    budget: Callable[[], int] = lambda: 60_000 if len(started) < 3 else 1_000  # noqa: E731

    cut = service.run(budget)

    assert cut.stopped_early and sum(cut.acted.values()) == 3 and cut.timers_read >= 3
    assert not {"sla_notify", "close_notify", "strike_publish"} & set(_due_kinds(stack))
    rest = service.run(lambda: 60_000)
    assert not rest.stopped_early and sum(rest.acted.values()) == 4
    assert _merged(cut, rest) == EXPECTED
    assert service.run().acted == {}
    _acted_once_each(stack, cases)


# ---------------------------------------------------------------- cost follows the work due


def _seed_stuck_reports(stack: Stack, count: int, due: bool, prefix: str) -> None:
    """Reports waiting for evaluation, written straight to the table (a batch writer, not 10,000 transactions)."""
    from consent_guard.models.domain import Attestations, Category, Relationship, Report

    now = datetime.now(UTC)
    stuck_due_at = now - timedelta(minutes=1) if due else now + timedelta(minutes=5)
    with stack.table().batch_writer() as batch:
        for i in range(count):
            report = Report(
                report_id=f"r_{prefix}{i:06d}",
                case_id=f"c_{prefix}{i:06d}",
                reporter_id=f"user-{prefix}{i}",
                post_id=f"post-{prefix}{i}",
                category=Category.PRIVATE_MEDIA,
                relationship=Relationship.SELF,
                attestations=Attestations(accurate_and_complete=True),
                submitted_at=now - timedelta(minutes=10),
            )
            batch.put_item(Item=it.report_to_item(report, stuck_due_at))


def test_a_runs_reads_follow_the_timers_due_not_the_table_size(stack: Stack, clock: time_machine.Coordinates) -> None:
    from consent_guard.repository import dynamodb_client

    read: list[int] = []

    def count_read(parsed: dict[str, Any], **_: Any) -> None:
        read.append(int(parsed.get("ScannedCount", 0)))

    client = dynamodb_client()
    client.meta.events.register("after-call.dynamodb.Query", count_read, unique_id="count-read")
    try:
        _seed_stuck_reports(stack, 900, due=False, prefix="a")
        _seed_stuck_reports(stack, 100, due=True, prefix="b")
        read.clear()
        small = stack.scheduled_review()
        small_read, small_queries = sum(read), len(read)

        _seed_stuck_reports(stack, 8_900, due=False, prefix="c")  # 10,000 pending in all (the first 100 moved on)
        _seed_stuck_reports(stack, 100, due=True, prefix="d")
        read.clear()
        large = stack.scheduled_review()
        large_read, large_queries = sum(read), len(read)
    finally:
        client.meta.events.unregister("after-call.dynamodb.Query", unique_id="count-read")

    assert small["acted"] == large["acted"] == {"report_stuck": 100}
    assert small["timers_read"] == large["timers_read"] == 100
    assert small_read == large_read == 100
    assert small_queries == large_queries == it.DUE_SHARDS  # one page per shard
    print(f"\nitems read: 100 due among 1,000 pending: {small_read}; among 10,000: {large_read}")


def _readable(value: Any) -> str:
    """A stored value as text, packed attributes unpacked (a check for text must see inside them)."""
    from boto3.dynamodb.types import Binary

    return it.unpacked(value) if isinstance(value, Binary) else str(value)
