"""Report in, decision, notifications and enforcement out: the three functions chained through moto's queues."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from tests.handlers.conftest import Stack

SUBMIT = "report_intake/submit_report.json"
GET = "report_intake/get_report.json"
POST_CONTEXT = "report_intake/put_post_context.json"
ACCOUNT_CONTEXT = "report_intake/put_account_context.json"
INBOX = "case_api/my_notifications.json"


def test_a_first_person_report_is_removed_and_everyone_is_told(stack: Stack) -> None:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    stack.verify_claim("user-alice", "post-1001")  # the platform confirms who reports and that they are shown
    _, accepted, _ = stack.http(SUBMIT)

    stack.run_pipeline()

    status, view, _ = stack.http(GET, path_params={"report_id": accepted["report_id"]})
    assert status == 200
    assert view["status"] == "action_taken" and view["outcome"] == "remove"
    assert view["rule_ids"] and view["policy_version"]
    reporter_kinds = sorted(n["kind"] for n in stack.inbox("user-alice"))
    assert reporter_kinds == ["outcome", "receipt"]
    author = stack.inbox("user-bob")
    assert [n["kind"] for n in author] == ["statement_of_reasons"]
    assert author[0]["email_status"] == "sent"
    assert "user-alice" not in author[0]["body"]  # the author never learns who reported
    actions = sorted(e["detail-type"] for e in stack.enforcement_events())
    assert actions == ["account.lock", "content.hide"]


def test_enforcement_events_carry_a_stable_id_case_rule_and_policy_version(stack: Stack) -> None:
    stack.post_context()
    _, accepted, _ = stack.http(SUBMIT)
    stack.run_pipeline()
    events = stack.enforcement_events()
    assert events
    for event in events:
        detail = event["detail"]
        assert detail["case_id"] == accepted["case_id"]
        assert detail["event_id"].startswith(accepted["case_id"])
        assert detail["rule_ids"] and detail["policy_version"]
        assert detail["account_id"] == "user-bob" and detail["post_id"] == "post-1001"


def test_without_the_posts_facts_the_case_waits_for_context_and_resumes_when_they_arrive(stack: Stack) -> None:
    _, accepted, _ = stack.http(SUBMIT)
    stack.run_pipeline()
    _, view, _ = stack.http(GET, path_params={"report_id": accepted["report_id"]})
    assert view["status"] == "needs_context"

    stack.post_context()  # the platform supplies the facts: the pending case is re-opened at once
    stack.run_pipeline()

    _, view, _ = stack.http(GET, path_params={"report_id": accepted["report_id"]})
    assert view["status"] == "action_taken"


def test_a_bystanders_private_media_report_waits_for_the_person_depicted(stack: Stack) -> None:
    stack.post_context()
    _, accepted, _ = stack.http(
        SUBMIT,
        body={
            "post_id": "post-1001",
            "category": "private_media",
            "relationship": "other",
            "attestations": {"accurate_and_complete": True},
        },
        sub="user-dave",
        headers={"idempotency-key": "d1"},
    )
    stack.run_pipeline()

    _, view, _ = stack.http(GET, path_params={"report_id": accepted["report_id"]}, sub="user-dave")
    assert view["status"] == "awaiting_first_person"
    assert sorted(n["kind"] for n in stack.inbox("user-dave")) == ["awaiting_first_person", "receipt"]
    assert stack.enforcement_events() == []

    stack.http(SUBMIT, sub="user-alice")  # now the person depicted reports
    stack.run_pipeline()

    _, view, _ = stack.http(GET, path_params={"report_id": accepted["report_id"]}, sub="user-dave")
    assert view["status"] == "action_taken"
    assert "outcome" in [n["kind"] for n in stack.inbox("user-dave")]


def test_a_public_figures_media_in_the_public_interest_stays_up(stack: Stack) -> None:
    stack.post_context(public_interest=True)
    stack.account_context("user-alice", public_figure=True)
    _, accepted, _ = stack.http(SUBMIT)
    stack.run_pipeline()

    _, view, _ = stack.http(GET, path_params={"report_id": accepted["report_id"]})
    assert view["status"] == "no_violation"
    outcome = next(n for n in stack.inbox("user-alice") if n["kind"] == "outcome")
    assert "appeal" in outcome["body"]
    assert stack.enforcement_events() == []


def test_a_decision_and_its_enforcement_are_appended_as_one_event_item(stack: Stack) -> None:
    """A change's events are one write (docs/data-model.md): the case's history still lists each event with its
    own sequence number, and erasure rewrites an event that is not the item's first in place."""
    from consent_guard.errors import VersionConflict
    from consent_guard.repository import CaseRepository

    stack.post_context()
    _, accepted, _ = stack.http(SUBMIT)
    stack.run_pipeline()
    case_id = accepted["case_id"]
    stored = [i for i in stack.table().scan()["Items"] if i["type"] == "case_event" and i["PK"] == f"CASE#{case_id}"]
    assert [i["SK"] for i in stored] == ["EVENT#00000001"] and "more" in stored[0]
    status, view, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": case_id}, sub="mod-1", groups=["moderators"]
    )
    assert status == 200
    assert [(e["seq"], e["type"]) for e in view["events"]] == [(1, "evaluated"), (2, "enforcement_applied")]

    repository = CaseRepository(stack.resources.tables["ConsentGuardTable"])
    [events] = repository.case_event_items(case_id)
    later = events[1]
    redacted = [events[0], later.model_copy(update={"actor": "erased", "data": {**later.data, "note": None}})]
    with pytest.raises(ValueError):
        repository.redact_events(events, redacted[:1])  # a rewrite that would drop an event
    repository.redact_events(events, redacted)
    assert repository.case_event_items(case_id) == [redacted]
    # written only over the item as it was read: a rewrite from a stale read reverts nothing
    with pytest.raises(VersionConflict):
        repository.redact_events(events, events)
    with pytest.raises(VersionConflict):
        repository.redact_events([events[0]], [events[0]])  # read as one event: the item holds two
    assert repository.case_event_items(case_id) == [redacted]


def test_redelivered_messages_produce_no_second_notification_or_case_change(stack: Stack) -> None:
    stack.post_context()
    _, _accepted, _ = stack.http(SUBMIT)
    message = stack.receive("EvaluationQueue")[0]
    evaluation = stack.handler("policy_evaluation")
    assert evaluation.lambda_handler(stack.sqs_event("EvaluationQueue", [message]), stack.context) == {
        "batchItemFailures": []
    }
    # the same message again (SQS is at-least-once)
    evaluation.lambda_handler(stack.sqs_event("EvaluationQueue", [message]), stack.context)
    stack.run_pipeline()

    assert stack.stored_case_events() == ["evaluated", "enforcement_applied"]
    assert sorted(n["kind"] for n in stack.inbox("user-alice")) == ["outcome", "receipt"]
    assert len(stack.inbox("user-bob")) == 1


@pytest.mark.parametrize("hints", ["as_sent", "none", "wrong"])
def test_the_evaluation_reads_the_report_and_its_case_in_one_batch_and_checks_the_hints(
    stack: Stack, hints: str
) -> None:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    _, accepted, _ = stack.http(SUBMIT)
    message = stack.receive("EvaluationQueue")[0]
    body = json.loads(message["Body"])
    # intake says where the report belongs, so the evaluation needs no read of the report before the rest
    assert (body["case_id"], body["post_id"], body["reporter_id"]) == (accepted["case_id"], "post-1001", "user-alice")
    if hints == "none":  # a message queued before the hints existed
        body = {"type": "report_submitted", "report_id": body["report_id"]}
    elif hints == "wrong":  # hints that do not match the report are not believed
        body |= {"case_id": "c_someone_else", "post_id": "post-other"}
    message["Body"] = json.dumps(body)
    from consent_guard.repository import dynamodb_client

    reads: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        reads.append(event_name.rsplit(".", 1)[-1])

    dynamodb_client().meta.events.register("before-call.dynamodb", count, unique_id="count-reads")
    try:
        result = stack.handler("policy_evaluation").lambda_handler(
            stack.sqs_event("EvaluationQueue", [message]), stack.context
        )
    finally:
        dynamodb_client().meta.events.unregister("before-call.dynamodb", unique_id="count-reads")
    assert result == {"batchItemFailures": []}
    if hints == "as_sent":
        # the report, its case, post, reporter and standing; then the author and media; then the author's strikes
        assert [r for r in reads if r != "TransactWriteItems"] == ["BatchGetItem", "BatchGetItem", "Query"]
    stack.run_pipeline()
    status, view, _ = stack.http(GET, path_params={"report_id": accepted["report_id"]})
    assert status == 200 and view["status"] == "action_taken" and view["outcome"] == "remove"
    assert [n["kind"] for n in stack.inbox("user-bob")] == ["statement_of_reasons"]


def _batch_of_ten(stack: Stack) -> list[dict[str, Any]]:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    for n in range(10):  # one decides the case, the rest are folded into it, each with its own outbox
        stack.report(sub=f"user-r{n}")
    messages = stack.receive("EvaluationQueue", 10)
    assert len(messages) == 10
    return messages


def _evaluate_counting_sends(stack: Stack, messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from consent_guard.messaging import sqs_client

    sends: list[tuple[str, str]] = []

    def count(event_name: str, params: dict[str, Any], **_: Any) -> None:
        sends.append((event_name.rsplit(".", 1)[-1], str(params.get("QueueUrl", "")).rsplit("cg-", 1)[-1]))

    sqs_client().meta.events.register("provide-client-params.sqs", count, unique_id="count-sends")
    try:
        result = stack.handler("policy_evaluation").lambda_handler(
            stack.sqs_event("EvaluationQueue", messages), stack.context
        )
    finally:
        sqs_client().meta.events.unregister("provide-client-params.sqs", unique_id="count-sends")
    assert result == {"batchItemFailures": []}
    return sends


def test_a_batchs_changes_are_delivered_by_the_evaluation_itself(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a batch's decisions committed goes out from the evaluation once the batch is done: nothing waits on
    the effects queue, and no outbox item is left. Each item is delivered exactly as the table holds it (what the
    effects function would read back): the case's outbox item and the folded reports' embedded ones."""
    from consent_guard.repository import CaseRepository, OutboxItem
    from consent_guard.services.delivery import EffectDelivery

    repository = CaseRepository(stack.resources.tables["ConsentGuardTable"])
    compared: list[str] = []
    original = EffectDelivery.deliver_item

    def deliver_item(self: EffectDelivery, item: OutboxItem) -> str:
        stored = repository.get_outbox(item.outbox_id)
        assert stored is not None
        assert item == replace(stored, created_at=item.created_at)  # the one field delivery never reads
        compared.append(item.outbox_id.split(":", 1)[0])
        return original(self, item)

    monkeypatch.setattr(EffectDelivery, "deliver_item", deliver_item)
    sends = _evaluate_counting_sends(stack, _batch_of_ten(stack))
    assert sorted(set(compared)) == ["case", "report"] and len(compared) == 10
    assert {queue for _, queue in sends} == {"NotificationQueue"}
    assert stack.depth("EffectsQueue") == 0 and stack.depth("NotificationQueue") > 0
    assert sorted(e["detail-type"] for e in stack.enforcement_events()) == ["account.lock", "content.hide"]
    assert not [i for i in stack.table().scan()["Items"] if "effects" in i]  # every outbox delivered and removed
    stack.run_pipeline()
    assert all(sorted(n["kind"] for n in stack.inbox(f"user-r{n}")) == ["outcome", "receipt"] for n in range(10))


def test_what_the_evaluation_cannot_deliver_is_announced_together(stack: Stack) -> None:
    """The notification queue refusing every send: the ten committed items are announced to the effects queue in
    one SendMessageBatch, and the effects function delivers them once the queue takes sends again."""
    messages = _batch_of_ten(stack)
    from consent_guard.messaging import sqs_client

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if str(params.get("QueueUrl", "")).endswith("cg-NotificationQueue"):
            raise RuntimeError("notification queue unavailable")

    sqs_client().meta.events.register("provide-client-params.sqs.SendMessageBatch", refuse, unique_id="refuse")
    try:
        sends = _evaluate_counting_sends(stack, messages)
    finally:
        sqs_client().meta.events.unregister("provide-client-params.sqs.SendMessageBatch", unique_id="refuse")
    assert [s for s in sends if s[1] == "EffectsQueue"] == [("SendMessageBatch", "EffectsQueue")]
    assert stack.depth("EffectsQueue") == 10 and stack.depth("NotificationQueue") == 0
    stack.run_pipeline()
    assert all(sorted(n["kind"] for n in stack.inbox(f"user-r{n}")) == ["outcome", "receipt"] for n in range(10))
    assert not [i for i in stack.table().scan()["Items"] if "effects" in i]


def test_a_batch_near_its_timeout_announces_what_it_committed_instead_of_delivering(stack: Stack) -> None:
    """Inside the last INLINE_RESERVE_MS of the invocation the evaluation delivers nothing itself: the ten items
    are announced and the effects function delivers them."""
    from consent_guard.services.delivery import INLINE_RESERVE_MS

    messages = _batch_of_ten(stack)
    stack.context.remaining_ms = INLINE_RESERVE_MS - 1
    try:
        sends = _evaluate_counting_sends(stack, messages)
    finally:
        stack.context.remaining_ms = 300_000
    assert sends == [("SendMessageBatch", "EffectsQueue")] and stack.enforcement_events() == []
    assert stack.depth("EffectsQueue") == 10
    stack.run_pipeline()
    assert sorted(e["detail-type"] for e in stack.enforcement_events()) == ["account.lock", "content.hide"]
    assert all(sorted(n["kind"] for n in stack.inbox(f"user-r{n}")) == ["outcome", "receipt"] for n in range(10))


def test_a_poison_message_fails_alone_and_the_rest_of_the_batch_is_processed(stack: Stack) -> None:
    stack.post_context()
    reports = [stack.http(SUBMIT, sub=f"user-{i}", headers={"idempotency-key": f"k{i}"})[1] for i in range(4)]
    sqs = stack.session.client("sqs")
    sqs.send_message(QueueUrl=stack.resources.queues["EvaluationQueue"], MessageBody='{"type": "unknown"}')
    messages = stack.receive("EvaluationQueue")
    assert len(messages) == 5

    result = stack.handler("policy_evaluation").lambda_handler(
        stack.sqs_event("EvaluationQueue", messages), stack.context
    )

    poison = [m["MessageId"] for m in messages if "unknown" in m["Body"]]
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == poison
    for report in reports:
        _, view, _ = stack.http(
            GET, path_params={"report_id": report["report_id"]}, sub=f"user-{reports.index(report)}"
        )
        assert view["status"] == "action_taken"


def test_a_report_whose_queue_send_failed_is_requeued_by_the_scheduled_review(stack: Stack) -> None:
    stack.post_context()
    from consent_guard.messaging import sqs_client

    client = sqs_client()

    def fail_send(params: Any, **_: Any) -> None:
        if "report_submitted" in params.get("MessageBody", ""):
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="sqs")

    client.meta.events.register("provide-client-params.sqs.SendMessage", fail_send, unique_id="fail")
    status, accepted, _ = stack.http(SUBMIT)
    client.meta.events.unregister("provide-client-params.sqs.SendMessage", unique_id="fail")

    assert status == 202  # stored is accepted
    assert stack.depth("EvaluationQueue") == 0
    assert stack.scheduled_review()["acted"] == {}  # not due yet

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        summary = stack.scheduled_review()
        again = stack.scheduled_review()  # a second run acts on nothing
    assert summary["acted"] == {"report_stuck": 1}
    assert again["acted"] == {}
    stack.run_pipeline()
    _, view, _ = stack.http(GET, path_params={"report_id": accepted["report_id"]})
    assert view["status"] == "action_taken"


def test_an_evaluation_that_keeps_failing_lands_in_the_dlq(stack: Stack) -> None:
    stack.post_context()
    stack.http(SUBMIT)
    from consent_guard.repository import dynamodb_client

    def throttle(**_: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "GetItem"
        )

    # the evaluation's reads (a batch when the message says where the report belongs, else the report first)
    for read in ("GetItem", "BatchGetItem"):
        dynamodb_client().meta.events.register(f"before-call.dynamodb.{read}", throttle, unique_id=f"throttle-{read}")
    sqs = stack.session.client("sqs")
    for _ in range(5):  # maxReceiveCount in template.yaml
        messages = sqs.receive_message(
            QueueUrl=stack.resources.queues["EvaluationQueue"], MaxNumberOfMessages=10, AttributeNames=["All"]
        )["Messages"]
        result = stack.handler("policy_evaluation").lambda_handler(
            stack.sqs_event("EvaluationQueue", messages), stack.context
        )
        assert len(result["batchItemFailures"]) == 1
        sqs.change_message_visibility(
            QueueUrl=stack.resources.queues["EvaluationQueue"],
            ReceiptHandle=messages[0]["ReceiptHandle"],
            VisibilityTimeout=0,
        )
    for read in ("GetItem", "BatchGetItem"):
        dynamodb_client().meta.events.unregister(f"before-call.dynamodb.{read}", unique_id=f"throttle-{read}")

    assert sqs.receive_message(QueueUrl=stack.resources.queues["EvaluationQueue"]).get("Messages") is None
    assert stack.depth("EvaluationDLQ") == 1


@pytest.mark.parametrize("locale", ["en", "de"])
def test_the_reporters_locale_is_used(stack: Stack, locale: str) -> None:
    stack.post_context()
    stack.http(
        SUBMIT,
        body={
            "post_id": "post-1001",
            "category": "private_media",
            "relationship": "self",
            "locale": locale,
            "attestations": {
                "accurate_and_complete": True,
                "information_is_mine": True,
                "not_published_elsewhere": True,
            },
        },
    )
    stack.run_pipeline()
    receipt = next(n for n in stack.inbox("user-alice") if n["kind"] == "receipt")
    assert receipt["subject"].startswith({"en": "We received", "de": "Wir haben"}[locale])


def test_notifications_are_newest_first_and_paginated(stack: Stack) -> None:
    stack.post_context()
    stack.http(SUBMIT)
    stack.run_pipeline()
    status, first, _ = stack.http(INBOX, sub="user-alice", query={"limit": "1"})
    assert status == 200 and len(first["items"]) == 1 and first["next_cursor"]
    status, second, _ = stack.http(INBOX, sub="user-alice", query={"limit": "1", "cursor": first["next_cursor"]})
    assert status == 200 and len(second["items"]) == 1
    assert first["items"][0]["created_at"] >= second["items"][0]["created_at"]
    # someone else's cursor is refused, not served
    status, _, _ = stack.http(INBOX, sub="user-mallory", query={"cursor": first["next_cursor"]})
    assert status == 400
    assert json.dumps(stack.inbox("user-mallory")) == "[]"


def test_a_late_first_person_report_reopens_a_case_closed_for_want_of_one(stack: Stack) -> None:
    stack.post_context()
    bystander = stack.report(sub="user-dave", relationship="other")
    stack.run_pipeline()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=15), tick=False):
        stack.scheduled_review()
        stack.run_pipeline()
        assert stack.report_view(bystander["report_id"], sub="user-dave")["status"] == "closed"
        late = stack.report(sub="user-alice")  # the person depicted, after the wait
        stack.run_pipeline()
        assert stack.report_view(late["report_id"])["status"] == "action_taken"
    assert sorted(e["detail-type"] for e in stack.enforcement_events()) == ["account.lock", "content.hide"]
