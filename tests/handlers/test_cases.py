"""The case lifecycle through the case API function (events/case_api/*.json) on moto: queues, claims, moderator
decisions, races, appeals, lock lifting, roles and report storms."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from consent_guard.auth import Principal
from consent_guard.models import items as it
from consent_guard.models.api import DecisionRequest
from tests.conftest import load_event
from tests.handlers.conftest import Stack

LIST = "case_api/list_cases.json"
GET = "case_api/get_case.json"
CLAIM = "case_api/claim_case.json"
DECIDE = "case_api/decide_case.json"
APPEAL = "case_api/appeal_case.json"
DECIDE_APPEAL = "case_api/decide_appeal.json"
MARK = "case_api/mark_dedicated_exposure.json"
MOD = ["moderators"]
STORM = int(os.environ.get("CG_STORM_REPORTS", "2000"))


def _in_review(
    stack: Stack, post_id: str = "post-1001", category: str = "contact_information", reporter: str = "user-dave"
) -> dict[str, Any]:
    """A case a human must decide: private information reported by someone other than the person concerned."""
    stack.post_context(post_id)
    accepted = stack.report(sub=reporter, post_id=post_id, category=category, relationship="other")
    stack.run_pipeline()
    return _case(stack, accepted["case_id"])


def _case(stack: Stack, case_id: str, sub: str = "mod-1", groups: list[str] | None = None) -> dict[str, Any]:
    status, view, _ = stack.http(
        GET, path_params={"case_id": case_id}, sub=sub, groups=MOD if groups is None else groups
    )
    assert status == 200, view
    return view


def _decide(
    stack: Stack,
    case_id: str,
    version: int,
    outcome: str = "remove",
    rule_id: str | None = "PIM-12",
    sub: str = "mod-1",
    **extra: Any,
) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"outcome": outcome, "version": version, **extra}
    if rule_id:
        body["rule_id"] = rule_id
    status, payload, _ = stack.http(DECIDE, path_params={"case_id": case_id}, body=body, sub=sub, groups=MOD)
    return status, payload


def _queue(
    stack: Stack, queue: str = "review", sub: str = "mod-1", groups: list[str] | None = None, **query: str
) -> tuple[int, dict[str, Any]]:
    status, page, _ = stack.http(
        LIST, query={"queue": queue, **query}, sub=sub, groups=MOD if groups is None else groups
    )
    return status, page


# ---------------------------------------------------------------- review queue


def test_the_review_queue_orders_by_priority_then_age_from_the_index(stack: Stack) -> None:
    ordinary = _in_review(stack, "post-1", "contact_information")["case"]["case_id"]
    intimate = _in_review(stack, "post-2", "intimate_media")["case"]["case_id"]  # bystander: priority 0
    second_ordinary = _in_review(stack, "post-3", "financial_information")["case"]["case_id"]

    status, page = _queue(stack)

    assert status == 200
    assert [c["case_id"] for c in page["items"]] == [intimate, ordinary, second_ordinary]
    assert page["items"][0]["review_priority"] == 0


def test_the_queue_is_paginated_with_an_opaque_cursor(stack: Stack) -> None:
    ids = [_in_review(stack, f"post-{i}")["case"]["case_id"] for i in range(3)]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = _queue(stack, **query)
        assert status == 200
        seen += [c["case_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


def test_the_sharded_review_queue_pages_in_one_global_order_with_and_without_a_category(stack: Stack) -> None:
    # enough cases that every shard holds some: the merge of the shard heads must still give one order
    categories = ["contact_information", "intimate_media", "financial_information"]
    for n in range(24):
        _in_review(stack, f"post-q{n}", categories[n % 3], reporter=f"user-q{n}")
    table = stack.table()
    items = [i for i in table.scan()["Items"] if str(i.get("LPK", "")).startswith(it.REVIEW_QUEUE)]
    assert len(items) == 24
    assert len({i["LPK"] for i in items}) >= 4  # spread: each shard takes a share of the queue's writes
    # a case queued before the queue was sharded waits in the old partition, and is still read
    legacy = items[0]
    table.update_item(
        Key={"PK": legacy["PK"], "SK": legacy["SK"]},
        UpdateExpression="SET LPK = :p",
        ExpressionAttributeValues={":p": it.REVIEW_QUEUE},
    )
    expected = [str(i["LSK"]) for i in sorted(items, key=lambda i: str(i["LSK"]))]

    def walk(limit: int, category: str | None = None) -> list[str]:
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(40):
            query = {
                "limit": str(limit),
                **({"cursor": cursor} if cursor else {}),
                **({"category": category} if category else {}),
            }
            status, page = _queue(stack, **query)
            assert status == 200, page
            assert len(page["items"]) <= limit
            seen += [c["case_id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return seen
        raise AssertionError("the queue never ended")

    order = [lsk.rsplit("#", 1)[1] for lsk in expected]
    assert walk(5) == order
    assert walk(50) == order
    intimate = [
        str(i["PK"]).removeprefix("CASE#")
        for i in sorted(items, key=lambda i: str(i["LSK"]))
        if i["category"] == "intimate_media"
    ]
    assert walk(3, "intimate_media") == intimate
    status, counts, _ = stack.http("case_api/count_cases.json", query={"queue": "review"}, sub="mod-1", groups=MOD)
    assert status == 200 and counts["total"] == 24 and counts["categories"]["intimate_media"]["cases"] == 8


def test_only_moderators_see_the_review_queue_and_only_appeal_reviewers_the_appeals_queue(stack: Stack) -> None:
    assert _queue(stack, sub="user-alice", groups=[])[0] == 403
    assert _queue(stack, "appeals", sub="mod-1", groups=MOD)[0] == 403
    assert _queue(stack, "appeals", sub="app-1", groups=["appeals"])[0] == 200


# ---------------------------------------------------------------- claims and decisions


def test_a_claim_keeps_other_moderators_off_the_case(stack: Stack) -> None:
    view = _in_review(stack)
    case_id = view["case"]["case_id"]

    status, claimed, _ = stack.http(CLAIM, path_params={"case_id": case_id}, sub="mod-1", groups=MOD)
    assert status == 200 and claimed["claimed_by"] == "mod-1"
    status, body, _ = stack.http(CLAIM, path_params={"case_id": case_id}, sub="mod-2", groups=MOD)
    assert status == 409 and body["claimed_by"] == "mod-1"
    status, body = _decide(stack, case_id, claimed["version"], sub="mod-2")
    assert status == 409

    # once the claim has run out, another moderator can take the case
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=31), tick=False):
        status, body, _ = stack.http(CLAIM, path_params={"case_id": case_id}, sub="mod-2", groups=MOD)
    assert status == 200 and body["claimed_by"] == "mod-2"


def test_a_moderator_removal_runs_the_ladder_and_is_recorded_as_not_automated(stack: Stack) -> None:
    view = _in_review(stack)
    case_id = view["case"]["case_id"]

    status, decided = _decide(stack, case_id, view["case"]["version"], note="number visible in the photo")
    stack.run_pipeline()

    assert status == 200, decided
    assert decided["case"]["state"] == "actioned"
    assert decided["decision"]["automated"] is False
    assert decided["decision"]["rule_ids"][0] == "PIM-12" and decided["decision"]["enforcement"] == "require_removal"
    assert "person" in decided["decision"]["statement_of_reasons"]
    history = [e["type"] for e in _case(stack, case_id)["events"]]
    assert history[-2:] == ["decided", "enforcement_applied"]
    assert sorted(e["detail-type"] for e in stack.enforcement_events()) == ["account.lock", "content.hide"]
    assert [n["kind"] for n in stack.inbox("user-bob")] == ["statement_of_reasons"]
    assert "outcome" in [n["kind"] for n in stack.inbox("user-dave")]
    assert _queue(stack)[1]["items"] == []


def test_a_rule_that_does_not_fit_the_case_is_422(stack: Stack) -> None:
    view = _in_review(stack)
    status, body = _decide(stack, view["case"]["case_id"], view["case"]["version"], rule_id="PIM-8")
    assert status == 422
    assert body["code"] == "rule_not_applicable"
    status, body = _decide(stack, view["case"]["case_id"], view["case"]["version"], rule_id=None)
    assert status == 422


def test_escalation_raises_priority_and_keeps_the_case_in_review(stack: Stack) -> None:
    view = _in_review(stack)
    status, body = _decide(stack, view["case"]["case_id"], view["case"]["version"], outcome="escalate", rule_id=None)
    assert status == 200
    assert body["case"]["state"] == "in_review" and body["case"]["review_priority"] == 0
    assert [e["type"] for e in _case(stack, view["case"]["case_id"])["events"]][-1] == "escalated"


def test_a_stale_version_is_a_409_with_the_winners_decision(stack: Stack) -> None:
    view = _in_review(stack)
    case_id, version = view["case"]["case_id"], view["case"]["version"]

    first = _decide(stack, case_id, version, sub="mod-1")
    second = _decide(stack, case_id, version, outcome="no_violation", rule_id="PIM-12", sub="mod-2")

    assert first[0] == 200
    assert second[0] == 409
    assert second[1]["current"]["decision"]["outcome"] == "remove"
    assert "reporter" not in str(second[1]) and "user-dave" not in str(second[1])


def test_racing_moderators_interleaved_between_read_and_write_exactly_one_wins(stack: Stack) -> None:
    """Deterministic interleaving: mod-1 reads the case and prepares a decision; mod-2 decides and commits; only
    then does mod-1 write. mod-1 must lose with a 409 that carries mod-2's decision."""
    from consent_guard.http import case_api

    view = _in_review(stack)
    case_id, version = view["case"]["case_id"], view["case"]["version"]
    service = case_api.case_service()
    original = service._person_decision
    mod1_has_read, mod2_has_written = threading.Event(), threading.Event()
    main = threading.current_thread()

    def pause_mod1_between_read_and_write(*args: Any, **kwargs: Any) -> Any:
        decision = original(*args, **kwargs)
        if threading.current_thread() is not main:
            mod1_has_read.set()
            assert mod2_has_written.wait(10)
        return decision

    service._person_decision = pause_mod1_between_read_and_write  # type: ignore[method-assign]
    result: dict[str, tuple[int, dict[str, Any]]] = {}
    mod1 = threading.Thread(target=lambda: result.update(mod1=_decide(stack, case_id, version, sub="mod-1")))
    try:
        mod1.start()
        assert mod1_has_read.wait(10)
        other = Principal(subject="mod-2", groups=frozenset(MOD), scopes=frozenset())
        winner = service.decide(
            other, case_id, DecisionRequest(outcome="no_violation", rule_id="PIM-12", version=version)
        )
        mod2_has_written.set()
        mod1.join(10)
    finally:
        service._person_decision = original  # type: ignore[method-assign]

    assert winner.case.state == "dismissed"
    status, body = result["mod1"]
    assert status == 409
    assert body["current"]["decision"]["outcome"] == "no_violation"
    final = _case(stack, case_id)
    assert final["case"]["state"] == "dismissed" and final["decision"]["rule_ids"] == ["PIM-12"]
    assert [e["type"] for e in final["events"]].count("decided") == 1


def test_people_without_the_role_cannot_decide(stack: Stack) -> None:
    view = _in_review(stack)
    status, _, _ = stack.http(
        DECIDE,
        path_params={"case_id": view["case"]["case_id"]},
        body={"outcome": "remove", "rule_id": "PIM-12", "version": 1},
        sub="user-alice",
    )
    assert status == 403


def test_decision_bodies_reject_mass_assignment(stack: Stack) -> None:
    view = _in_review(stack)
    for field, value in (("status", "closed"), ("reporter_id", "x"), ("decided_by", "someone")):
        status, body = _decide(stack, view["case"]["case_id"], view["case"]["version"], **{field: value})
        assert status == 422, field
        assert body["errors"][0]["type"] == "extra_forbidden"


# ---------------------------------------------------------------- who sees a case


def test_staff_see_reports_and_history_the_author_a_narrow_view_and_others_nothing(stack: Stack) -> None:
    view = _in_review(stack)
    case_id = view["case"]["case_id"]
    assert view["reports"][0]["reporter_id"] == "user-dave"
    assert view["post"]["author_id"] == "user-bob"

    # need to know: nothing was decided yet, so the author learns nothing (not even that it was reported)
    assert stack.http(GET, path_params={"case_id": case_id}, sub="user-bob")[0] == 404
    decided = _decide(stack, case_id, view["case"]["version"], "remove", "PIM-12")
    assert decided[0] == 200, decided
    status, author_view, _ = stack.http(GET, path_params={"case_id": case_id}, sub="user-bob")
    assert status == 200
    assert author_view["reports"] is None and author_view["events"] is None
    assert author_view["case"]["claimed_by"] is None and author_view["decision"]["decided_by"] is None
    assert "user-dave" not in str(author_view) and "mod-1" not in str(author_view)

    stranger = stack.http(GET, path_params={"case_id": case_id}, sub="user-mallory")
    missing = stack.http(GET, path_params={"case_id": "c_aaaaaaaaaaaaaaaaaaaaaaaa"}, sub="user-mallory")
    assert stranger[0] == missing[0] == 404 and stranger[1] == missing[1]
    # even the reporter reads the outcome through their report, not the case file
    assert stack.http(GET, path_params={"case_id": case_id}, sub="user-dave")[0] == 404


# ---------------------------------------------------------------- appeals


def _removed_automatically(stack: Stack) -> dict[str, Any]:
    stack.post_context()
    accepted = stack.report()
    stack.run_pipeline()
    stack.enforcement_events()
    return _case(stack, accepted["case_id"])


def _appeal(stack: Stack, case_id: str, sub: str) -> tuple[int, dict[str, Any]]:
    status, body, _ = stack.http(APPEAL, path_params={"case_id": case_id}, body={"reason": "I had permission"}, sub=sub)
    return status, body


def _reporter_appeal(stack: Stack, report_id: str, sub: str) -> tuple[int, dict[str, Any]]:
    """A reporter appeals through their report (POST /reports/{report_id}/appeals)."""
    status, body, _ = stack.http(
        "case_api/appeal_report.json", path_params={"report_id": report_id}, body={"reason": "it is me"}, sub=sub
    )
    return status, body


def _decide_appeal(
    stack: Stack, case_id: str, version: int, result: str, rule_id: str | None, sub: str = "app-1"
) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"result": result, "version": version}
    if rule_id:
        body["rule_id"] = rule_id
    status, payload, _ = stack.http(
        DECIDE_APPEAL, path_params={"case_id": case_id}, body=body, sub=sub, groups=["appeals"]
    )
    return status, payload


def test_the_author_appeals_a_removal_and_an_overturn_restores_everything(stack: Stack) -> None:
    case = _removed_automatically(stack)
    case_id = case["case"]["case_id"]

    status, appealed = _appeal(stack, case_id, "user-bob")
    assert status == 200 and appealed["case"]["state"] == "appealed"
    status, page = _queue(stack, "appeals", sub="app-1", groups=["appeals"])
    assert [c["case_id"] for c in page["items"]] == [case_id]

    version = _case(stack, case_id)["case"]["version"]
    status, decided = _decide_appeal(stack, case_id, version, "overturn", "PIM-8")
    stack.run_pipeline()

    assert status == 200, decided
    assert decided["case"]["state"] == "dismissed" and decided["measures_active"] == []
    assert sorted(e["detail-type"] for e in stack.enforcement_events()) == ["account.unlock", "content.restore"]
    assert not [i for i in stack.table().scan()["Items"] if i["SK"].startswith("STRIKE#")]
    assert "appeal_outcome" in [n["kind"] for n in stack.inbox("user-bob")]
    assert "appeal_outcome" in [n["kind"] for n in stack.inbox("user-alice")]
    # one appeal per decision: the appeal decision stands for the author
    assert _appeal(stack, case_id, "user-bob")[0] == 409


def test_the_reporter_appeals_no_action_and_an_overturn_applies_the_ladder(stack: Stack) -> None:
    stack.post_context(public_interest=True)
    stack.account_context("user-alice", public_figure=True)
    accepted = stack.report()
    stack.run_pipeline()
    case_id = accepted["case_id"]
    assert _case(stack, case_id)["case"]["state"] == "dismissed"

    assert _appeal(stack, case_id, "user-alice")[0] == 404  # the case file is not the reporter's to see
    assert _reporter_appeal(stack, accepted["report_id"], "user-mallory")[0] == 404  # nor someone else's report
    status, filed = _reporter_appeal(stack, accepted["report_id"], "user-alice")
    assert (status, filed["status"]) == (200, "under_review"), filed
    version = _case(stack, case_id)["case"]["version"]
    status, decided = _decide_appeal(stack, case_id, version, "overturn", "PIM-8")
    stack.run_pipeline()

    assert status == 200, decided
    assert decided["case"]["state"] == "actioned"
    assert decided["decision"]["automated"] is False and decided["decision"]["enforcement"] == "require_removal"
    assert sorted(e["detail-type"] for e in stack.enforcement_events()) == ["account.lock", "content.hide"]
    assert "statement_of_reasons" in [n["kind"] for n in stack.inbox("user-bob")]


def test_an_appeal_is_never_decided_by_the_person_who_made_the_decision(stack: Stack) -> None:
    view = _in_review(stack)
    case_id = view["case"]["case_id"]
    both = ["moderators", "appeals"]
    status, _, _ = stack.http(
        DECIDE,
        path_params={"case_id": case_id},
        body={"outcome": "remove", "rule_id": "PIM-12", "version": view["case"]["version"]},
        sub="mod-1",
        groups=both,
    )
    assert status == 200
    assert _appeal(stack, case_id, "user-bob")[0] == 200
    version = _case(stack, case_id)["case"]["version"]

    status, _body, _ = stack.http(
        DECIDE_APPEAL,
        path_params={"case_id": case_id},
        body={"result": "uphold", "version": version},
        sub="mod-1",
        groups=both,
    )
    assert status == 403
    status, upheld = _decide_appeal(stack, case_id, version, "uphold", None, sub="app-2")
    assert status == 200 and upheld["case"]["state"] == "actioned"


def test_who_may_appeal_what_and_until_when(stack: Stack) -> None:
    case = _removed_automatically(stack)
    case_id = case["case"]["case_id"]
    assert _appeal(stack, case_id, "user-mallory")[0] == 404  # not a party: nothing leaks
    assert _appeal(stack, case_id, "user-alice")[0] == 404  # a reporter appeals through their report...
    report_id = _case(stack, case_id)["reports"][0]["report_id"]
    assert _reporter_appeal(stack, report_id, "user-alice")[0] == 409  # ...and cannot appeal a removal
    with time_machine.travel(datetime.now(UTC) + timedelta(days=184), tick=False):
        status, body = _appeal(stack, case_id, "user-bob")
    assert status == 409 and "window" in body["message"]


# ---------------------------------------------------------------- the platform's side


def test_deleting_the_post_lifts_the_lock(stack: Stack) -> None:
    case = _removed_automatically(stack)
    status, _, _ = stack.http("report_intake/post_deleted.json", path_params={"post_id": "post-1001"})
    assert status == 200
    stack.run_pipeline()

    after = _case(stack, case["case"]["case_id"])
    assert after["measures_active"] == ["content.hide"]
    assert [e["detail-type"] for e in stack.enforcement_events()] == ["account.unlock"]
    assert "lock_lifted" in [n["kind"] for n in stack.inbox("user-bob")]
    assert after["events"][-1]["type"] == "enforcement_lifted"


def test_enforcement_events_are_published_once_each(stack: Stack) -> None:
    stack.post_context()
    message_ids: list[str] = []
    stack.report()
    messages = stack.receive("EvaluationQueue")
    evaluation = stack.handler("policy_evaluation")
    for _ in range(2):  # the same message delivered twice
        evaluation.lambda_handler(stack.sqs_event("EvaluationQueue", messages), stack.context)
    stack.run_pipeline()
    events = stack.enforcement_events()
    message_ids = [e["detail"]["event_id"] for e in events]
    assert len(message_ids) == len(set(message_ids)) == 2


def test_admins_mark_dedicated_accounts_and_the_next_removal_suspends(stack: Stack) -> None:
    status, _, _ = stack.http(
        MARK, path_params={"account_id": "user-bob"}, body={"dedicated_to_exposure": True}, sub="mod-1", groups=MOD
    )
    assert status == 403
    status, _, _ = stack.http(
        MARK,
        path_params={"account_id": "user-bob"},
        body={"dedicated_to_exposure": True},
        sub="admin-1",
        groups=["admins"],
    )
    assert status == 200
    stack.account_context("user-bob", contact_email="bob@example.com")  # the platform cannot unset it
    case = _removed_automatically(stack)
    # only a person suspends (PIM-A4): the post is hidden and a moderator decides, the ladder then suspends
    assert (case["case"]["state"], case["measures_active"]) == ("in_review", ["content.hide"])
    assert case["decision"]["rule_ids"][-2:] == ["PIM-E1", "PIM-A4"]
    decided = _decide(stack, case["case"]["case_id"], case["case"]["version"], "remove", "PIM-8")
    assert decided[0] == 200, decided
    assert decided[1]["decision"]["enforcement"] == "permanent_suspension"


# ---------------------------------------------------------------- storms


class CollectingQueue:
    """A fake of the notification queue port: keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def send_all(self, messages: list[Any]) -> None:
        self.sent.extend(messages)


def _count_case_item_writes(writes: list[str], case_pk: str) -> None:
    """Record every write that touches the case's status item, whatever the operation."""
    from consent_guard.repository import dynamodb_client

    def count(params: dict[str, Any], **_: Any) -> None:
        actions = [next(iter(a.values())) for a in params["TransactItems"]] if "TransactItems" in params else [params]
        for action in actions:
            key = action.get("Key") or action.get("Item") or {}
            if key.get("PK", {}).get("S") == case_pk and key.get("SK", {}).get("S") == "STATUS":
                writes.append(str(action.get("Item", {}).get("state", {}).get("S", "update")))

    for op in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
        dynamodb_client().meta.events.register(f"provide-client-params.dynamodb.{op}", count)


def test_intake_never_writes_the_case_item(stack: Stack) -> None:
    from consent_guard.ids import case_id_for
    from consent_guard.models.items import case_key

    writes: list[str] = []
    _count_case_item_writes(writes, case_key(case_id_for("post-1001", "private_media"))["PK"])
    for i in range(50):
        stack.report(sub=f"bystander-{i}", relationship="other")
    assert writes == []


def test_a_storm_of_2000_reports_writes_the_case_item_once_per_state_change(stack: Stack) -> None:
    """2,000 reports on one post within a minute: bystanders, and the person depicted among them. Reports are
    stored as intake stores them (moto copies the whole table on every transaction, which would make 2,000
    intake transactions quadratic here); evaluation then takes every one through the real handler."""
    from consent_guard.ids import case_id_for, new_report_id
    from consent_guard.models.domain import Attestations, Report
    from consent_guard.models.items import case_key, report_to_item

    stack.post_context()
    case_id = case_id_for("post-1001", "private_media")
    writes: list[str] = []
    _count_case_item_writes(writes, case_key(case_id)["PK"])
    now = datetime.now(UTC)
    table = stack.table()
    report_ids = []
    with table.batch_writer() as batch:
        for i in range(STORM):
            first_person = i == STORM // 2
            report = Report(
                report_id=new_report_id(),
                case_id=case_id,
                reporter_id="user-alice" if first_person else f"b-{i}",
                post_id="post-1001",
                category="private_media",
                relationship="self" if first_person else "other",
                attestations=Attestations(
                    accurate_and_complete=True, information_is_mine=first_person, not_published_elsewhere=first_person
                ),
                submitted_at=now + timedelta(milliseconds=i * 30),
            )
            batch.put_item(Item=report_to_item(report, now + timedelta(minutes=5)))
            report_ids.append(report.report_id)
    # Delivered as the SQS event source would, in batches of 10, and notifications collected by a fake queue:
    # moto's SQS scans every message on each send and receive, which would make a 2,000-report storm quadratic here.
    from consent_guard.consumers import effects as effect_consumers
    from consent_guard.consumers import evaluation as consumers

    announced, notifications = CollectingQueue(), CollectingQueue()
    # the evaluation delivers what it committed; what it leaves (a fan-out) is announced to the effects function
    consumers.inline_delivery().effects_queue = announced  # type: ignore[assignment]
    consumers.inline_delivery().delivery.notifications = notifications  # type: ignore[assignment]
    evaluation = stack.handler("policy_evaluation")
    failures = 0
    for start in range(0, STORM, 10):
        event = {
            "Records": [
                {
                    **load_event("policy_evaluation/report_submitted.json")["Records"][0],
                    "messageId": f"m-{start + n}",
                    "body": json.dumps({"type": "report_submitted", "report_id": rid}),
                }
                for n, rid in enumerate(report_ids[start : start + 10])
            ]
        }
        failures += len(evaluation.lambda_handler(event, stack.context)["batchItemFailures"])
    # the effects function delivers every outbox item announced (a fan-out hands its rest on to itself)
    delivery = effect_consumers.effect_delivery()
    delivery.notifications = notifications  # type: ignore[assignment]
    delivery.effects_queue = announced  # type: ignore[assignment]
    while announced.sent:
        delivery.deliver(announced.sent.pop(0).outbox_id)
    delivered = STORM - failures

    assert delivered == STORM
    assert writes == ["awaiting_first_person", "actioned"]
    assert _case(stack, case_id)["case"]["state"] == "actioned"
    # every reporter heard the outcome once, whether their report came before or after the decision
    outcomes = {m.recipient_id for m in notifications.sent if m.kind == "outcome"}
    assert len(outcomes) == STORM
    pages = (
        stack.session.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=stack.resources.tables["ConsentGuardTable"],
            Select="COUNT",
            FilterExpression="#t = :r AND #s = :e",
            ExpressionAttributeNames={"#t": "type", "#s": "status"},
            ExpressionAttributeValues={":r": {"S": "report"}, ":e": {"S": "evaluated"}},
        )
    )
    assert sum(page["Count"] for page in pages) == STORM


def test_moderators_read_their_groups_shared_inbox_and_others_cannot(stack: Stack) -> None:
    _in_review(stack)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=25), tick=False):
        stack.scheduled_review()
        stack.run_pipeline()
    status, page, _ = stack.http(
        "case_api/my_notifications.json", query={"inbox": "moderators"}, sub="mod-1", groups=MOD
    )
    assert status == 200 and [n["kind"] for n in page["items"]] == ["sla_breach"]
    status, _, _ = stack.http(
        "case_api/my_notifications.json", query={"inbox": "moderators"}, sub="user-alice", groups=[]
    )
    assert status == 403
