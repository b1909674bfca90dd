"""Effects committed with the change (the outbox) and delivered at least once: by the evaluation function for what
its own decisions committed, by the effects function for everything announced to it.

Fault injection at every hop between the commit and the platform or the inbox - throttling, a crash after
publishing and before marking, a lost announcement, a poison message - on the evaluation, moderator decision,
appeal and lock-lifting paths, each ending with every effect delivered exactly once in effect: every notification
recorded once, every enforcement event id seen (a repeat carries the same id, which the platform drops). And a
guard: nothing publishes to the bus or queues a notification outside that delivery (services/delivery.py).
"""

from __future__ import annotations

import ast
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from consent_guard.messaging import QueuePublisher
from consent_guard.models import items as it
from consent_guard.repository import CaseRepository
from consent_guard.services.review import ReReviewService
from tests.handlers.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]
GET = "case_api/get_case.json"
REPORTS = "case_api/list_case_reports.json"
DECIDE = "case_api/decide_case.json"
APPEAL = "case_api/appeal_case.json"
DECIDE_APPEAL = "case_api/decide_appeal.json"
DELETED = "report_intake/post_deleted.json"
MOD = ["moderators"]
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------- fault injection


class Faults:
    """Make chosen AWS calls fail: `fail(operation, times, when)` raises a ThrottlingException (after the SDK's
    own retries, as the product sees it) for the next `times` calls of `operation` whose params match `when`."""

    def __init__(self) -> None:
        self.rules: list[list[Any]] = []
        self.calls: list[tuple[str, dict[str, Any], list[str]]] = []

    def fail(self, operation: str, times: int = 1, when: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self.rules.append([operation, times, when or (lambda _: True)])

    def check(self, operation: str, params: dict[str, Any]) -> None:
        for rule in self.rules:
            if rule[0] == operation and rule[1] > 0 and rule[2](params):
                rule[1] -= 1
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, operation)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    injected = Faults()
    original = BaseClient._make_api_call

    def calling(self: Any, operation: str, params: dict[str, Any]) -> Any:
        frames = [f.filename for f in traceback.extract_stack()]
        injected.calls.append((operation, params, frames))
        injected.check(operation, params)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", calling)
    return injected


def _to(queue: str) -> Callable[[dict[str, Any]], bool]:
    return lambda params: str(params.get("QueueUrl", "")).endswith(f"cg-{queue}")


@contextmanager
def _crash_after_publishing(monkeypatch: pytest.MonkeyPatch, times: int = 1) -> Iterator[None]:
    """The effects function dies after its sends and before it marks the item delivered."""
    left = [times]
    original = CaseRepository.complete_outbox

    def crash(self: CaseRepository, *args: Any, **kwargs: Any) -> bool:
        if left[0] > 0:
            left[0] -= 1
            raise RuntimeError("crashed before marking")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CaseRepository, "complete_outbox", crash)
    yield


# ---------------------------------------------------------------- helpers


def _drain(stack: Stack, rounds: int = 12) -> None:
    """Deliver every queue as the event source mappings would, failed messages included, until all are quiet."""
    for _ in range(rounds):
        moved = 0
        for queue, function in (
            ("EvaluationQueue", "policy_evaluation"),
            ("EffectsQueue", "effects"),
            ("NotificationQueue", "notification"),
        ):
            before = stack.depth(queue)
            stack.deliver(queue, function)
            moved += before
        if not moved:
            return


def _in_review(stack: Stack, reporters: int = 1) -> str:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    case_id = ""
    for i in range(reporters):
        case_id = stack.report(sub=f"user-dave-{i}", category="contact_information", relationship="other")["case_id"]
    _drain(stack)
    assert _view(stack, case_id)["case"]["state"] == "in_review"
    return case_id


def _view(stack: Stack, case_id: str) -> dict[str, Any]:
    status, view, _ = stack.http(GET, path_params={"case_id": case_id}, sub="mod-1", groups=MOD)
    assert status == 200, view
    return view


def _decide(stack: Stack, case_id: str, outcome: str = "remove", **extra: Any) -> dict[str, Any]:
    version = _view(stack, case_id)["case"]["version"]
    body = {"outcome": outcome, "version": version, "rule_id": "PIM-12", **extra}
    status, view, _ = stack.http(DECIDE, path_params={"case_id": case_id}, body=body, sub="mod-1", groups=MOD)
    assert status == 200, view
    return view


def _notifications(stack: Stack) -> list[dict[str, Any]]:
    items = stack.table().scan()["Items"]
    return [i for i in items if i.get("type") == "notification"]


def _kinds_to(stack: Stack, recipient: str) -> list[str]:
    return sorted(str(n["kind"]) for n in _notifications(stack) if n["recipient_id"] == recipient)


def _outboxes(stack: Stack) -> list[dict[str, Any]]:
    return [i for i in stack.table().scan()["Items"] if i.get("type") == "outbox"]


def _event_ids(events: list[dict[str, Any]]) -> list[str]:
    return [str(e["detail"]["event_id"]) for e in events]


def _once_in_effect(events: list[dict[str, Any]], expected_actions: list[str]) -> None:
    """Every expected event arrived; any repeat carries the id of the first (the platform drops it)."""
    by_id = {e["detail"]["event_id"]: e["detail-type"] for e in events}
    assert sorted(by_id.values()) == sorted(expected_actions), by_id


# ---------------------------------------------------------------- the guard


def test_nothing_publishes_or_queues_a_notification_outside_the_delivery_of_effects(
    stack: Stack, faults: Faults, clock: time_machine.Coordinates
) -> None:
    """Every path that owes effects - evaluation, a moderator's decision, an appeal, a lock lifted by a deletion,
    the scheduled re-review - is driven; every PutEvents and every send to the notification queue must come from
    services/delivery.py (run by the effects function, or by the evaluation for what it committed)."""
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    removed = stack.report()["case_id"]  # removal by automation: hide + lock
    review = stack.report(sub="user-dave", category="contact_information", relationship="other")["case_id"]
    _drain(stack)
    _decide(stack, review, "no_violation")
    _drain(stack)
    status, _, _ = stack.http(APPEAL, path_params={"case_id": removed}, body={"reason": "mine"}, sub="user-bob")
    assert status == 200
    version = _view(stack, removed)["case"]["version"]
    status, _, _ = stack.http(
        DECIDE_APPEAL,
        path_params={"case_id": removed},
        body={"result": "uphold", "version": version},
        sub="app-1",
        groups=["appeals"],
    )
    assert status == 200
    _drain(stack)
    status, _, _ = stack.http(DELETED, path_params={"post_id": "post-1001"}, platform=True)
    assert status == 200
    _drain(stack)
    actions = {e["detail-type"] for e in stack.enforcement_events()}
    clock.shift(timedelta(days=400))  # strikes expire, retention, ...
    stack.scheduled_review()
    _drain(stack)
    actions |= {e["detail-type"] for e in stack.enforcement_events()}

    outward = [
        (op, frames)
        for op, params, frames in faults.calls
        if op == "PutEvents" or (op in ("SendMessage", "SendMessageBatch") and _to("NotificationQueue")(params))
    ]
    assert {"PutEvents", "SendMessageBatch"} <= {op for op, _ in outward}
    for op, frames in outward:
        product = [f for f in frames if "/shared/consent_guard/" in f]
        assert product and product[-1].endswith("consent_guard/messaging.py"), op
        assert any(f.endswith("consent_guard/services/delivery.py") for f in product), (op, product[-4:])
    assert {"content.hide", "account.lock", "account.unlock", "strike.expired"} <= actions


def test_only_the_delivery_of_effects_holds_the_publishers() -> None:
    """Read from the source: the bus publisher and the notification queue's URL are used by the delivery of
    effects alone (defined in messaging and the settings of the two functions that deliver). The consumers that
    deliver (the effects function, and the evaluation function for what it committed itself) may only hand them
    to an `EffectDelivery`."""
    allowed = {
        "shared/consent_guard/messaging.py",
        "shared/consent_guard/config/effects.py",
        "shared/consent_guard/config/evaluation.py",
        "shared/consent_guard/services/delivery.py",
    }
    wiring = {"shared/consent_guard/consumers/effects.py", "shared/consent_guard/consumers/evaluation.py"}
    names = {"EnforcementPublisher", "notification_queue_url", "event_bus_name", "put_events"}
    offenders = []
    for path in [*ROOT.glob("shared/consent_guard/**/*.py"), *ROOT.glob("functions/**/*.py")]:
        relative = str(path.relative_to(ROOT))
        if relative in allowed:
            continue
        tree = ast.parse(path.read_text())
        handed = set()  # nodes inside an EffectDelivery(...) call's arguments
        if relative in wiring:
            for call in ast.walk(tree):
                if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "EffectDelivery":
                    for arg in [*call.args, *(k.value for k in call.keywords)]:
                        handed |= {id(n) for n in ast.walk(arg)}
        for node in ast.walk(tree):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if isinstance(node, ast.alias):
                name = None if relative in wiring else node.name  # importing the publisher to hand it on
            if name in names and id(node) not in handed:
                offenders.append(f"{relative}:{getattr(node, 'lineno', '?')} {name}")
    assert offenders == []


# ---------------------------------------------------------------- the moderator's decision


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_a_decision_whose_publish_is_throttled_is_delivered_on_retry(stack: Stack, faults: Faults) -> None:
    """The reported bug: PutEvents failing once after a moderator's decision left the case actioned with no
    content.hide and no notifications, ever."""
    case_id = _in_review(stack, reporters=3)
    faults.fail("PutEvents", times=2)
    decided = _decide(stack, case_id)  # the answer does not depend on the publish
    assert decided["case"]["state"] == "actioned"
    _drain(stack)

    _once_in_effect(stack.enforcement_events(), ["content.hide", "account.lock"])
    for i in range(3):
        assert _kinds_to(stack, f"user-dave-{i}") == ["outcome", "receipt"]
    assert _kinds_to(stack, "user-bob") == ["statement_of_reasons"]
    assert _outboxes(stack) == []


@pytest.mark.parametrize("path", ["moderator", "evaluation"])
def test_a_crash_after_publishing_and_before_marking_repeats_only_what_consumers_drop(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """A moderator's decision (delivered by the effects function) or an automated one (by the evaluation itself,
    then handed on): the first removal of the item fails after everything went out."""
    if path == "moderator":
        case_id = _in_review(stack, reporters=2)
    else:
        stack.post_context()
        stack.account_context("user-bob", contact_email="bob@example.com")
    with _crash_after_publishing(monkeypatch, times=1):
        if path == "moderator":
            _decide(stack, case_id)
        else:
            stack.report()
        _drain(stack)
    events = stack.enforcement_events()
    assert len(events) == 4 and len(set(_event_ids(events))) == 2  # published twice, with the same ids
    _once_in_effect(events, ["content.hide", "account.lock"])
    notifications = _notifications(stack)
    assert len(notifications) == len({n["notification_id"] for n in notifications})
    assert _kinds_to(stack, "user-dave-0" if path == "moderator" else "user-alice") == ["outcome", "receipt"]
    assert _kinds_to(stack, "user-bob") == ["statement_of_reasons"]
    assert _outboxes(stack) == []


def test_a_lost_announcement_is_found_by_the_scheduled_re_review(
    stack: Stack, faults: Faults, clock: time_machine.Coordinates
) -> None:
    case_id = _in_review(stack)
    faults.fail("SendMessage", times=1, when=_to("EffectsQueue"))
    _decide(stack, case_id)
    _drain(stack)
    assert stack.enforcement_events() == [] and len(_outboxes(stack)) == 1  # committed, not yet announced

    assert stack.scheduled_review()["acted"] == {}  # within its grace the item is left to the announcement
    clock.shift(timedelta(minutes=3))
    summary = stack.scheduled_review()
    assert summary["acted"] == {"outbox": 1}
    _drain(stack)
    _once_in_effect(stack.enforcement_events(), ["content.hide", "account.lock"])
    assert _kinds_to(stack, "user-dave-0") == ["outcome", "receipt"]
    assert _outboxes(stack) == []
    assert stack.scheduled_review()["timers_read"] == 0


def test_throttled_notification_queue_on_a_decision(stack: Stack, faults: Faults) -> None:
    case_id = _in_review(stack, reporters=2)
    faults.fail("SendMessageBatch", times=3, when=_to("NotificationQueue"))
    _decide(stack, case_id)
    _drain(stack)
    assert _kinds_to(stack, "user-dave-0") == ["outcome", "receipt"]
    assert _kinds_to(stack, "user-dave-1") == ["outcome", "receipt"]
    assert _kinds_to(stack, "user-bob") == ["statement_of_reasons"]


def test_a_poison_message_is_dead_lettered_and_the_rest_of_its_batch_delivered(stack: Stack) -> None:
    case_id = _in_review(stack)
    sqs = stack.session.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.queues["EffectsQueue"], MessageBody='{"type": "nonsense"}')
    _decide(stack, case_id)
    for _ in range(7):  # maxReceiveCount 5: then SQS moves it to the DLQ
        stack.deliver("EffectsQueue", "effects")
    stack.deliver("NotificationQueue", "notification")
    assert stack.depth("EffectsDLQ") == 1 and stack.depth("EffectsQueue") == 0
    _once_in_effect(stack.enforcement_events(), ["content.hide", "account.lock"])
    assert _kinds_to(stack, "user-dave-0") == ["outcome", "receipt"]


def test_a_poison_effect_does_not_hold_back_the_others_of_its_item(stack: Stack) -> None:
    """An effect stored with an invalid payload (say, written by a faulty release) is left in its item and
    alarmed; the item's other effects go out."""
    import json

    case_id = _in_review(stack)
    table = stack.table()
    original = CaseRepository.get_outbox

    def corrupt(self: CaseRepository, outbox_id: str) -> Any:
        item = table.get_item(Key={"PK": f"OUTBOX#{outbox_id}", "SK": "OUTBOX"})["Item"]
        effects = json.loads(it.unpacked(item["effects"]))
        if not any(e["effect_id"] == "bad" for e in effects):
            effects.insert(0, {"kind": "enforcement", "effect_id": "bad", "payload": {"action": "content.hide"}})
            table.update_item(
                Key={"PK": item["PK"], "SK": "OUTBOX"},
                UpdateExpression="SET effects = :e",
                ExpressionAttributeValues={":e": it.packed(json.dumps(effects))},
            )
        return original(self, outbox_id)

    pytest.MonkeyPatch.context()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CaseRepository, "get_outbox", corrupt)
        _decide(stack, case_id)
        stack.deliver("EffectsQueue", "effects")
        stack.deliver("NotificationQueue", "notification")
    _once_in_effect(stack.enforcement_events(), ["content.hide", "account.lock"])
    assert _kinds_to(stack, "user-bob") == ["statement_of_reasons"]
    assert len(_outboxes(stack)) == 1  # kept for a fix, with its timer (and the DLQ alarm)


# ---------------------------------------------------------------- appeals and lock lifting


def test_an_overturned_appeal_with_the_bus_failing_still_lifts_everything_once(stack: Stack, faults: Faults) -> None:
    stack.post_context()
    case_id = stack.report()["case_id"]
    _drain(stack)
    stack.enforcement_events()
    status, _, _ = stack.http(APPEAL, path_params={"case_id": case_id}, body={"reason": "mine"}, sub="user-bob")
    assert status == 200
    version = _view(stack, case_id)["case"]["version"]
    faults.fail("PutEvents", times=2)
    status, decided, _ = stack.http(
        DECIDE_APPEAL,
        path_params={"case_id": case_id},
        body={"result": "overturn", "version": version, "rule_id": "PIM-8"},
        sub="app-1",
        groups=["appeals"],
    )
    assert status == 200 and decided["case"]["state"] == "dismissed"
    _drain(stack)
    _once_in_effect(stack.enforcement_events(), ["content.restore", "account.unlock"])
    assert _kinds_to(stack, "user-bob").count("appeal_outcome") == 1
    assert _kinds_to(stack, "user-alice").count("appeal_outcome") == 1


def test_a_deleted_post_lifts_the_lock_once_though_the_bus_fails(stack: Stack, faults: Faults) -> None:
    """The reported bug: with EventBridge failing for one delivery, the lift was saved, the retry found nothing
    to do and account.unlock was never published."""
    stack.post_context()
    stack.report()
    _drain(stack)
    stack.enforcement_events()
    faults.fail("PutEvents", times=1)
    status, _, _ = stack.http(DELETED, path_params={"post_id": "post-1001"}, platform=True)
    assert status == 200
    _drain(stack)
    _once_in_effect(stack.enforcement_events(), ["account.unlock"])
    assert _kinds_to(stack, "user-bob").count("lock_lifted") == 1


def test_a_deleted_post_does_not_depend_on_a_queue_send(
    stack: Stack, faults: Faults, clock: time_machine.Coordinates
) -> None:
    """POST /context/posts/{id}/deleted answered 500 when its send failed; the deletion's effect is now stored with
    it, so the answer is 200 and the lock is lifted once the safety net announces it."""
    stack.post_context()
    stack.report()
    _drain(stack)
    stack.enforcement_events()
    faults.fail("SendMessage", times=5)  # every queue, for this request
    status, body, _ = stack.http(DELETED, path_params={"post_id": "post-1001"}, platform=True)
    assert status == 200, body
    faults.rules.clear()
    clock.shift(timedelta(minutes=3))
    assert stack.scheduled_review()["acted"].get("outbox") == 1
    _drain(stack)
    _once_in_effect(stack.enforcement_events(), ["account.unlock"])


def test_a_deleted_post_answers_503_when_storage_is_throttled(stack: Stack, faults: Faults) -> None:
    stack.post_context()
    faults.fail("TransactWriteItems", times=1)
    status, body, _ = stack.http(DELETED, path_params={"post_id": "post-1001"}, platform=True)
    assert status == 503, body


# ---------------------------------------------------------------- evaluation


def test_an_automated_removal_with_every_hop_failing_once(
    stack: Stack, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    # evaluation's own delivery of what it committed: its notifications' send fails (so nothing went out); then
    # its announcement of the unfinished item to the effects function (a batch's go out in one SendMessageBatch)
    faults.fail("SendMessageBatch", times=1, when=_to("NotificationQueue"))
    faults.fail("SendMessageBatch", times=1, when=_to("EffectsQueue"))
    faults.fail("PutEvents", times=1)  # the effects function's first attempt, once the safety net announced it
    with _crash_after_publishing(monkeypatch, times=1):
        stack.report()
        _drain(stack)
        assert stack.enforcement_events() == []  # the announcement was lost: only the safety net knows
        service = ReReviewService(
            CaseRepository(stack.resources.tables["ConsentGuardTable"]),
            QueuePublisher(stack.resources.queues["EvaluationQueue"]),
            QueuePublisher(stack.resources.queues["EffectsQueue"]),
            clock=lambda: datetime.now(UTC) + timedelta(minutes=3),
        )
        assert service.run().acted == {"outbox": 1}
        _drain(stack)
    _once_in_effect(stack.enforcement_events(), ["content.hide", "account.lock"])
    assert _kinds_to(stack, "user-alice") == ["outcome", "receipt"]
    assert _kinds_to(stack, "user-bob") == ["statement_of_reasons"]
    assert _outboxes(stack) == []


def test_an_automated_removal_goes_out_from_the_evaluation_without_the_effects_function(
    stack: Stack, faults: Faults
) -> None:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    stack.report()
    stack.deliver("EvaluationQueue", "policy_evaluation")
    assert stack.depth("EffectsQueue") == 0 and _outboxes(stack) == []  # delivered and removed by the evaluation
    _once_in_effect(stack.enforcement_events(), ["content.hide", "account.lock"])
    read_back = [c for c in faults.calls if c[0] == "GetItem" and "OUTBOX#" in str(c[1]["Key"]["PK"])]
    assert read_back == []  # its own commit is the proof that the effects are the table's
    _drain(stack)
    assert _kinds_to(stack, "user-alice") == ["outcome", "receipt"]
    assert _kinds_to(stack, "user-bob") == ["statement_of_reasons"]


@pytest.mark.parametrize("hop", ["PutEvents", "SendMessageBatch"])
def test_a_failed_hop_of_the_evaluations_delivery_hands_the_item_to_the_effects_function(
    stack: Stack, faults: Faults, hop: str
) -> None:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    faults.fail(hop, times=1, when=None if hop == "PutEvents" else _to("NotificationQueue"))
    stack.report()
    stack.deliver("EvaluationQueue", "policy_evaluation")
    assert stack.depth("EffectsQueue") == 1 and len(_outboxes(stack)) == 1  # committed, announced at once
    _drain(stack)
    events = stack.enforcement_events()
    _once_in_effect(events, ["content.hide", "account.lock"])
    assert _kinds_to(stack, "user-alice") == ["outcome", "receipt"]
    assert _kinds_to(stack, "user-bob") == ["statement_of_reasons"]
    assert _outboxes(stack) == []


def test_the_evaluation_leaves_an_effect_it_has_no_destination_for_to_the_effects_function(stack: Stack) -> None:
    """Its role may not send to the evaluation queue: an item owing a re-evaluation is announced, not poisoned."""
    from consent_guard.consumers import evaluation as consumers
    from consent_guard.models.effects import Outbox
    from consent_guard.models.messages import PostDeleted
    from consent_guard.services.effects import evaluation_effect

    owed = Outbox(outbox_id="post-deleted:p-1@t", effects=(evaluation_effect("e-1", PostDeleted(post_id="p-1")),))
    inline = consumers.inline_delivery()
    started: list[str] = []
    original = inline.delivery.deliver_committed

    def deliver_committed(outbox: Outbox) -> str:
        started.append(outbox.outbox_id)
        return original(outbox)

    inline.delivery.deliver_committed = deliver_committed  # type: ignore[method-assign]
    inline.release([owed])
    assert started == []  # not tried and failed (as a poison effect would be): never started
    assert stack.depth("EffectsQueue") == 1 and stack.depth("EvaluationQueue") == 0


def test_what_the_evaluation_does_not_start_is_announced_before_it_delivers_anything(stack: Stack) -> None:
    """If the invocation died while delivering, an item it would never have started (here: one owing a
    re-evaluation) must already be on the effects queue, not wait for its timer."""
    from consent_guard.consumers import evaluation as consumers
    from consent_guard.models.effects import Effect, EffectKind, Outbox
    from consent_guard.models.messages import PostDeleted
    from consent_guard.services.effects import evaluation_effect

    left = Outbox(outbox_id="post-deleted:p-1@t", effects=(evaluation_effect("e-1", PostDeleted(post_id="p-1")),))
    immediate = Outbox(
        outbox_id="case:c-1:2", effects=(Effect(kind=EffectKind.ENFORCEMENT, effect_id="c-1:2:content.hide"),)
    )
    inline = consumers.inline_delivery()
    depth_when_delivering: list[int] = []

    def dies(outbox: Outbox) -> str:
        depth_when_delivering.append(stack.depth("EffectsQueue"))
        raise RuntimeError("invocation ended")

    inline.delivery.deliver_committed = dies  # type: ignore[method-assign]
    with inline.batched():
        inline.announce(immediate)
        inline.announce(left)
    assert depth_when_delivering == [1]  # the re-evaluation's item was announced first
    assert stack.depth("EffectsQueue") == 2  # and the failed one after


# ---------------------------------------------------------------- bounded fan-out


def test_telling_many_reporters_is_paged_and_survives_a_crash_between_pages(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consent_guard.services import delivery

    monkeypatch.setattr(delivery, "FAN_OUT_PAGE", 4)
    case_id = _in_review(stack, reporters=11)
    pages: list[int] = []
    original = CaseRepository.case_reports_step

    def counted(self: CaseRepository, case_id: str, cursor: Any, limit: int) -> Any:
        reports, following = original(self, case_id, cursor, limit)
        pages.append(len(reports))
        return reports, following

    crashed = [False]
    original_advance = CaseRepository.advance_outbox

    def crash_once(self: CaseRepository, *args: Any) -> bool:
        if not crashed[0]:
            crashed[0] = True
            raise RuntimeError("crashed after sending a page")
        return original_advance(self, *args)

    monkeypatch.setattr(CaseRepository, "case_reports_step", counted)
    monkeypatch.setattr(CaseRepository, "advance_outbox", crash_once)
    _decide(stack, case_id)
    _drain(stack, rounds=30)
    assert max(pages) <= 4 and sum(pages) >= 11
    for i in range(11):
        assert _kinds_to(stack, f"user-dave-{i}") == ["outcome", "receipt"], i
    assert _outboxes(stack) == []


# ---------------------------------------------------------------- the case's reports, a page at a time


def test_the_case_view_holds_the_first_page_of_reports_and_the_rest_pages_with_a_cursor(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consent_guard.services import cases

    monkeypatch.setattr(cases, "REPORTS_PAGE", 3)
    case_id = _in_review(stack, reporters=8)
    view = _view(stack, case_id)
    assert len(view["reports"]) == 3 and view["reports_next_cursor"]
    seen = [r["report_id"] for r in view["reports"]]
    cursor = view["reports_next_cursor"]
    while cursor:
        status, page, _ = stack.http(
            REPORTS, path_params={"case_id": case_id}, sub="mod-1", groups=MOD, query={"cursor": cursor, "limit": "2"}
        )
        assert status == 200, page
        assert len(page["items"]) <= 2
        seen += [r["report_id"] for r in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 8
    submitted = [r["submitted_at"] for r in view["reports"]]
    assert submitted == sorted(submitted)

    status, body, _ = stack.http(
        REPORTS, path_params={"case_id": case_id}, sub="mod-1", groups=MOD, query={"cursor": "not-a-cursor"}
    )
    assert status == 400 and body["code"] == "invalid_cursor"
    other = stack.report(sub="user-erin", post_id="post-2002", category="contact_information", relationship="other")
    stack.post_context("post-2002")
    _drain(stack)
    status, page, _ = stack.http(
        REPORTS, path_params={"case_id": other["case_id"]}, sub="mod-1", groups=MOD, query={"limit": "1"}
    )
    assert status == 200
    foreign = view["reports_next_cursor"]
    status, body, _ = stack.http(
        REPORTS, path_params={"case_id": other["case_id"]}, sub="mod-1", groups=MOD, query={"cursor": foreign}
    )
    assert status == 400  # a cursor is bound to its case
    for sub, expected in (("user-mallory", 404), ("user-dave-0", 404), ("user-bob", 403)):
        status, _, _ = stack.http(REPORTS, path_params={"case_id": case_id}, sub=sub)
        assert status == expected, sub


def test_a_reports_cursor_is_signed_for_its_caller_and_case(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import json

    from consent_guard.services import cases

    monkeypatch.setattr(cases, "REPORTS_PAGE", 2)
    case_id = _in_review(stack, reporters=5)
    cursor = _view(stack, case_id)["reports_next_cursor"]
    assert cursor and "." in cursor

    def page(cursor: str, sub: str = "mod-1") -> tuple[int, dict[str, Any]]:
        status, body, _ = stack.http(
            REPORTS, path_params={"case_id": case_id}, sub=sub, groups=MOD, query={"cursor": cursor}
        )
        return status, body

    status, body = page(cursor)
    assert status == 200 and len(body["items"]) == 3
    # another moderator cannot replay it, nor can anyone alter it or make one up from the shards' positions
    assert page(cursor, sub="mod-2")[0] == 400
    payload, _, signature = cursor.partition(".")
    assert page(f"{payload}.{signature[:-2]}AA")[0] == 400
    forged = base64.urlsafe_b64encode(json.dumps({"c": case_id, "a": {}, "d": []}).encode()).decode()
    status, body = page(forged)
    assert status == 400 and body["code"] == "invalid_cursor"


def test_a_outbox_key_shape() -> None:
    from consent_guard.repository.outbox import outbox_key

    assert outbox_key("case:c_x:3") == {"PK": "OUTBOX#case:c_x:3", "SK": "OUTBOX"}
    assert it.due_kind(it.due_attributes("outbox", "OUTBOX#case:c_x:3", T0)["DSK"]) == "outbox"


# ---------------------------------------------------------------- the counters: once, with the item's own write


def _counted(stack: Stack, group: str = "decisions", attr: str = "total") -> int:
    """A counter summed over every day and shard, as stored (the statistics items of services/stats_effects.py)."""
    items = stack.table().scan()["Items"]
    return sum(int(i.get(attr, 0)) for i in items if str(i["PK"]).startswith("STATS#") and i["SK"].endswith(group))


@contextmanager
def _dying_around(monkeypatch: pytest.MonkeyPatch, method: str, after: bool, times: int = 1) -> Iterator[list[int]]:
    """The effects function dies just before (or just after) the outbox item's write `method` - the write whose
    transaction carries the counters - `times` times."""
    died = [0]
    original = getattr(CaseRepository, method)

    def dying(self: CaseRepository, *args: Any, **kwargs: Any) -> Any:
        if died[0] >= times:
            return original(self, *args, **kwargs)
        died[0] += 1
        if after:
            original(self, *args, **kwargs)
        raise RuntimeError(f"died {'after' if after else 'before'} {method}")

    with monkeypatch.context() as patch:
        patch.setattr(CaseRepository, method, dying)
        yield died


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_a_death_around_the_counted_removal_delivers_everything_and_counts_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, after: bool
) -> None:
    """Before: the retry sends again (same ids) and the removal adds the counters. After: the transaction committed
    (item gone, counters added), the retry finds nothing to do."""
    case_id = _in_review(stack, reporters=2)
    assert _counted(stack) == 0 and _counted(stack, "notices") == 2
    with _dying_around(monkeypatch, "complete_outbox", after=after, times=2) as died:
        _decide(stack, case_id)
        _drain(stack)
    assert died[0] == (1 if after else 2)  # after: the retry found the item gone, no write to die around
    _once_in_effect(stack.enforcement_events(), ["content.hide", "account.lock"])
    assert _kinds_to(stack, "user-dave-1") == ["outcome", "receipt"]
    assert _kinds_to(stack, "user-bob") == ["statement_of_reasons"]
    assert _outboxes(stack) == []
    assert _counted(stack) == 1 and _counted(stack, "notices") == 2
    assert _counted(stack, "decisions", "outcome:remove:human") == 1


def test_a_stale_deliverer_adds_nothing(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two deliveries of one item at once (a duplicate message): the one whose step moved under it writes nothing -
    no counter twice, the item is not resurrected."""
    case_id = _in_review(stack)
    repository = CaseRepository(stack.resources.tables["ConsentGuardTable"])
    _decide(stack, case_id)
    outbox_id = str(_outboxes(stack)[0]["outbox_id"])
    stale = repository.get_outbox(outbox_id)
    _drain(stack)  # the first delivery: done, counted, gone
    assert _outboxes(stack) == [] and _counted(stack) == 1

    from consent_guard.consumers.effects import effect_delivery

    with monkeypatch.context() as patch:
        patch.setattr(CaseRepository, "get_outbox", lambda self, _: stale)  # read before the first one finished
        assert effect_delivery().deliver(outbox_id) == "raced"
    assert _counted(stack) == 1 and _outboxes(stack) == []


def test_a_storm_counts_its_decision_once_with_its_first_page_through_crashes(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The paged case: decided once, counted once - with the first page's advance, not after the last page -
    though deliverers die before and after advances and before the final removal."""
    from consent_guard.services import delivery

    monkeypatch.setattr(delivery, "FAN_OUT_PAGE", 3)
    case_id = _in_review(stack, reporters=10)
    _decide(stack, case_id)
    with _dying_around(monkeypatch, "advance_outbox", after=False):
        stack.deliver("EffectsQueue", "effects")  # the single effects go out, the first page dies before its advance
    assert _counted(stack) == 0  # nothing recorded yet: nothing counted
    with _dying_around(monkeypatch, "advance_outbox", after=True):
        stack.deliver("EffectsQueue", "effects", rounds=1)  # the retry: the page again, its advance, then dies
    (item,) = _outboxes(stack)
    assert item["counted"] == 1 and _counted(stack) == 1  # counted with the first page: the rest still to go
    with _dying_around(monkeypatch, "complete_outbox", after=False):
        _drain(stack, rounds=30)
    for i in range(10):
        assert _kinds_to(stack, f"user-dave-{i}") == ["outcome", "receipt"], i
    _once_in_effect(stack.enforcement_events(), ["content.hide", "account.lock"])
    assert _outboxes(stack) == [] and _counted(stack) == 1 and _counted(stack, "notices") == 10


def test_an_item_held_back_by_a_poison_effect_counts_its_change_once(stack: Stack) -> None:
    """The poison effect keeps the item (and its timer) for a fix; the change's counters are added once, at the
    first attempt, not again at every retry nor when the fixed item is finally removed."""
    import json

    case_id = _in_review(stack)
    table = stack.table()
    _decide(stack, case_id)
    (item,) = _outboxes(stack)
    effects = json.loads(it.unpacked(item["effects"]))
    bad = {"kind": "enforcement", "effect_id": "bad", "payload": {"action": "content.hide"}}
    table.update_item(
        Key={"PK": item["PK"], "SK": "OUTBOX"},
        UpdateExpression="SET effects = :e",
        ExpressionAttributeValues={":e": it.packed(json.dumps([bad, *effects]))},
    )
    for _ in range(3):
        stack.deliver("EffectsQueue", "effects", rounds=1)
    (held,) = _outboxes(stack)
    assert held["counted"] == 1 and _counted(stack) == 1
    table.update_item(  # the fix
        Key={"PK": item["PK"], "SK": "OUTBOX"},
        UpdateExpression="SET effects = :e",
        ExpressionAttributeValues={":e": it.packed(json.dumps(effects))},
    )
    _drain(stack)
    assert _outboxes(stack) == [] and _counted(stack) == 1
    _once_in_effect(stack.enforcement_events(), ["content.hide", "account.lock"])


def test_a_folded_report_counts_its_notice_once_though_its_removal_dies(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded outbox of a report folded into a decided case: its notice is counted in the transaction that
    removes the outbox from the report item."""
    stack.post_context()
    stack.report()
    _drain(stack)
    assert _counted(stack, "notices") == 1
    for after in (False, True):
        sub = f"user-carl-{int(after)}"
        with _dying_around(monkeypatch, "complete_outbox", after=after, times=1) as died:
            stack.report(sub=sub, category="contact_information", relationship="other")
            _drain(stack)
        assert died[0] == 1
        assert _kinds_to(stack, sub).count("receipt") == 1
    assert _counted(stack, "notices") == 3
    reports = [i for i in stack.table().scan()["Items"] if i.get("type") == "report"]
    assert len(reports) == 3 and not [r for r in reports if "effects" in r or "counted" in r]
