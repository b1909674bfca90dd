"""Check 8: throttling and faults injected below botocore's retry logic (before-send), on the real handlers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.template import load_template
from tests.handlers.conftest import Stack
from tests.scorecard.faults import aws_error, inject

SUBMIT = "report_intake/submit_report.json"
DECIDE = "case_api/decide_case.json"


def _throttled() -> Any:
    return aws_error(400, "ThrottlingException")


def _snapshot(stack: Stack) -> list[dict[str, Any]]:
    items = stack.table().scan()["Items"]
    return sorted(items, key=lambda i: (i["PK"], i["SK"]))


def _max_receive_count(queue: str) -> int:
    return int(load_template()["Resources"][queue]["Properties"]["RedrivePolicy"]["maxReceiveCount"])


def test_retry_mode_is_standard_with_bounded_attempts_everywhere(stack: Stack, record_property: Any) -> None:
    from consent_guard import messaging, repository

    clients = {
        "dynamodb": repository.dynamodb_client(),
        "sqs": messaging.sqs_client(),
        "events": messaging.events_client(),
        "sesv2": messaging.ses_client(),
    }
    for name, client in clients.items():
        retries = client.meta.config.retries
        assert retries["mode"] == "standard", name
        assert 2 <= retries["total_max_attempts"] <= 5, (name, retries)
    env = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert env["AWS_RETRY_MODE"] == "standard" and 2 <= int(env["AWS_MAX_ATTEMPTS"]) <= 5
    record_property(
        "figure", f"retry mode standard, {clients['dynamodb'].meta.config.retries['total_max_attempts']} attempts"
    )


def test_transient_throttling_is_ridden_out_by_the_sdks_retries(stack: Stack, record_property: Any) -> None:
    from consent_guard.repository import dynamodb_client

    attempts = dynamodb_client().meta.config.retries["total_max_attempts"]
    with inject(dynamodb_client(), "TransactWriteItems", _throttled, times=attempts - 1) as injector:
        status, accepted, _ = stack.http(SUBMIT, sub="user-alice", headers={"idempotency-key": "k-throttle"})

    assert status == 202, accepted
    assert injector.injected == attempts - 1 and injector.sends == attempts  # the last attempt reached DynamoDB
    reports = [i for i in stack.table().scan()["Items"] if i["type"] == "report"]
    assert [r["report_id"] for r in reports] == [accepted["report_id"]]
    assert stack.depth("EvaluationQueue") == 1

    # the consumer rides out a throttled read the same way
    with inject(dynamodb_client(), "GetItem", lambda: aws_error(400, "ProvisionedThroughputExceededException"), 2):
        assert stack.deliver("EvaluationQueue", "policy_evaluation") == 1
    record_property("figure", f"{attempts - 1} throttled attempts then success")


def test_persistent_throttling_is_a_clean_503_and_nothing_partial(stack: Stack, record_property: Any) -> None:
    from consent_guard.repository import dynamodb_client

    stack.post_context()
    before = _snapshot(stack)
    with inject(dynamodb_client(), "TransactWriteItems", _throttled, times=None) as injector:
        status, body, headers = stack.http(SUBMIT, sub="user-alice", headers={"idempotency-key": "k-persistent"})

    assert status == 503 and body["code"] == "temporarily_unavailable"
    assert int(headers["retry-after"]) >= 1
    assert injector.sends == dynamodb_client().meta.config.retries["total_max_attempts"]  # bounded, then gave up
    assert _snapshot(stack) == before  # no report, no dedupe or idempotency marker, no quota count
    assert stack.depth("EvaluationQueue") == 0
    # once DynamoDB recovers, the client's retry of the same request is accepted once
    status, _, _ = stack.http(SUBMIT, sub="user-alice", headers={"idempotency-key": "k-persistent"})
    assert status == 202
    assert len([i for i in stack.table().scan()["Items"] if i["type"] == "report"]) == 1
    record_property("figure", f"persistent throttling -> 503 after {injector.sends} attempts, 0 items written")


def test_a_throttled_moderator_decision_changes_nothing(stack: Stack) -> None:
    from consent_guard.http import case_api

    stack.post_context()
    accepted = stack.report(sub="user-dave", category="contact_information", relationship="other")
    stack.run_pipeline()
    _, view, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": accepted["case_id"]}, sub="mod-1", groups=["moderators"]
    )
    before = _snapshot(stack)
    # the client the case API's service really holds (it is built once per process, like a warm Lambda's)
    with inject(case_api.case_service().repository.client, "TransactWriteItems", _throttled, times=None):
        status, body, _ = stack.http(
            DECIDE,
            path_params={"case_id": accepted["case_id"]},
            body={"outcome": "remove", "rule_id": "PIM-12", "version": view["case"]["version"]},
            sub="mod-1",
            groups=["moderators"],
        )
    assert status == 503, body
    assert _snapshot(stack) == before
    assert stack.depth("NotificationQueue") == 0 and stack.enforcement_events() == []


@pytest.mark.parametrize("failing_deliveries", [2, None], ids=["transient", "persistent"])
def test_eventbridge_failures_are_retried_then_dead_lettered_and_nothing_is_lost(
    stack: Stack, failing_deliveries: int | None, record_property: Any
) -> None:
    """The report's evaluation decides a removal and stores its effects with it (the outbox); publishing the
    enforcement events fails - in the evaluation's own delivery, which hands the item to the effects function, and
    there. The effects message is retried (the item unchanged, the events carry the same ids); if it keeps failing
    it reaches the DLQ after maxReceiveCount, and a re-drive once EventBridge is back publishes each event once."""
    from consent_guard.messaging import events_client

    stack.post_context()
    accepted = stack.report()
    sqs = stack.session.client("sqs")
    queue = stack.resources.queues["EffectsQueue"]
    max_receives = _max_receive_count("EffectsQueue")
    failing = max_receives + 1 if failing_deliveries is None else failing_deliveries
    deliveries = 0
    with inject(events_client(), "PutEvents", lambda: aws_error(500, "InternalException"), times=None) as injector:
        assert stack.deliver("EvaluationQueue", "policy_evaluation") == 1  # the decision and its outbox, stored
        assert stack.depth("EffectsQueue") == 1  # its own delivery failed: announced to the effects function
        for _ in range(failing):
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
                "Messages", []
            )
            if not messages:
                break
            deliveries += 1
            result = stack.handler("effects").lambda_handler(stack.sqs_event("EffectsQueue", messages), stack.context)
            assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [messages[0]["MessageId"]]
            sqs.change_message_visibility(
                QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
            )
    assert injector.sends >= deliveries * 2  # botocore retried each publish before the record was failed

    if failing_deliveries is None:
        assert deliveries == max_receives
        assert sqs.receive_message(QueueUrl=queue).get("Messages") is None
        assert stack.depth("EffectsDLQ") == 1
        dlq = stack.resources.queues["EffectsDLQ"]
        for message in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]:
            sqs.send_message(QueueUrl=queue, MessageBody=message["Body"])  # the documented re-drive
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
    stack.run_pipeline()

    events = stack.enforcement_events()
    assert sorted(e["detail-type"] for e in events) == ["account.lock", "content.hide"]
    assert len({e["detail"]["event_id"] for e in events}) == 2
    assert stack.stored_case_events() == ["evaluated", "enforcement_applied"]
    assert sorted(n["kind"] for n in stack.inbox("user-alice")) == ["outcome", "receipt"]
    assert [n["kind"] for n in stack.inbox("user-bob")] == ["statement_of_reasons"]
    _, view, _ = stack.http("report_intake/get_report.json", path_params={"report_id": accepted["report_id"]})
    assert view["outcome"] == "remove"
    record_property(
        "figure",
        f"EventBridge down for {deliveries} deliveries ({injector.sends} sends)"
        + (" -> DLQ -> re-drive" if failing_deliveries is None else "")
        + ": 2 events once, nothing lost",
    )


def test_ses_outage_is_retried_by_the_sdk_then_by_the_queue(stack: Stack, record_property: Any) -> None:
    """SES throttling at the HTTP layer: botocore retries each send; the notification is failed, retried by SQS and
    sent once SES is back; the in-app notification is recorded once."""
    from consent_guard.messaging import ses_client

    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    stack.report()
    stack.deliver("EvaluationQueue", "policy_evaluation")
    stack.deliver("EffectsQueue", "effects")
    throttle = lambda: aws_error(429, "TooManyRequestsException", json_protocol=False)  # noqa: E731
    with inject(ses_client(), "SendEmail", throttle, times=None) as injector:
        stack.deliver("NotificationQueue", "notification")
    assert injector.sends == ses_client().meta.config.retries["total_max_attempts"]
    assert stack.depth("NotificationQueue") == 1  # the author's email, left for a retry
    sqs = stack.session.client("sqs")
    for message in stack.receive("NotificationQueue"):
        sqs.change_message_visibility(
            QueueUrl=stack.resources.queues["NotificationQueue"],
            ReceiptHandle=message["ReceiptHandle"],
            VisibilityTimeout=0,
        )
    stack.deliver("NotificationQueue", "notification")
    author = stack.inbox("user-bob")
    assert [(n["kind"], n["email_status"]) for n in author] == [("statement_of_reasons", "sent")]
    assert stack.depth("NotificationQueue") == 0
    record_property("figure", f"SES throttled ({injector.sends} SDK attempts) -> queue retry -> sent once")
    assert json.dumps(author).count("statement_of_reasons") == 1
