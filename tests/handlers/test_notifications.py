"""Notifications people can rely on: never lost, never doubled, never leaking what was reported."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.backends import get_backend

from tests.handlers.conftest import Stack

PHONE = "+44 7700 900123"
ADDRESS = "14 Elm Grove, Leeds LS6 2AB"
EMAIL = "alice.private@example.org"


def _sent_emails() -> list[Any]:
    backend = get_backend("ses")["123456789012"]["eu-west-1"]
    return list(backend.sent_messages)


def _fail_ses(stack: Stack) -> None:
    from consent_guard.messaging import ses_client

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail")

    ses_client().meta.events.register("before-call.sesv2.SendEmail", refuse, unique_id="refuse-ses")


def _heal_ses() -> None:
    from consent_guard.messaging import ses_client

    ses_client().meta.events.unregister("before-call.sesv2.SendEmail", unique_id="refuse-ses")


def test_no_private_information_in_any_notification_email_or_log(
    stack: Stack, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    secrets = (PHONE, ADDRESS, EMAIL)
    stack.post_context()
    # the post's own text carries the private information, as it would
    stack.http(
        "report_intake/put_post_context.json",
        path_params={"post_id": "post-1001"},
        body={
            "author_id": "user-bob",
            "text": f"call her on {PHONE}, she lives at {ADDRESS}, {EMAIL}",
            "media": [{"media_id": "m1", "media_type": "photo"}],
            "created_at": "2026-11-20T10:00:00Z",
        },
    )
    stack.account_context("user-bob", contact_email="bob@example.com")
    stack.account_context("user-alice", contact_email="alice@example.com")
    for category in ("contact_information", "home_address_or_location", "private_media"):
        stack.report(category=category, description=f"my number {PHONE}, my address {ADDRESS}, my email {EMAIL}")
    stack.report(sub="user-dave", category="contact_information", relationship="other", description=f"this is {PHONE}")
    stack.run_pipeline()

    notifications = [n for sub in ("user-alice", "user-bob", "user-dave") for n in stack.inbox(sub)]
    emails = _sent_emails()
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text

    assert len(notifications) >= 9 and len(emails) >= 5  # the pipeline really ran and sent
    assert any("post-1001" in e.body for e in emails)
    assert "report accepted" in logs and "case evaluated" in logs
    for secret in secrets:
        assert secret not in json.dumps(notifications)
        assert all(secret not in f"{e.subject} {e.body}" for e in emails)
        assert secret not in logs
    assert "alice@example.com" not in logs and "bob@example.com" not in logs  # contact addresses neither


def test_a_failing_email_is_retried_then_dead_lettered_and_the_case_shows_it(stack: Stack) -> None:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    accepted = stack.report()
    stack.deliver("EvaluationQueue", "policy_evaluation")
    stack.deliver("EffectsQueue", "effects")
    _fail_ses(stack)
    sqs = stack.session.client("sqs")
    queue = stack.resources.queues["NotificationQueue"]
    for _ in range(5):  # maxReceiveCount of the template
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
        result = stack.handler("notification").lambda_handler(
            stack.sqs_event("NotificationQueue", messages), stack.context
        )
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        assert len(failed) == 1  # only the author's email fails; in-app notifications for the reporter went out
        for message in messages:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    assert sqs.receive_message(QueueUrl=queue).get("Messages") is None
    assert stack.depth("NotificationDLQ") == 1
    author = stack.inbox("user-bob")
    assert [(n["kind"], n["email_status"]) for n in author] == [("statement_of_reasons", "failed")]  # in-app kept
    status, case, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": accepted["case_id"]}, sub="mod-1", groups=["moderators"]
    )
    assert status == 200
    assert case["failed_notifications"] == [
        {
            "notification_id": author[0]["notification_id"],
            "kind": "statement_of_reasons",
            "attempts": 5,
            "email_status": "failed",
        }
    ]

    # SES recovers; the documented re-drive puts the message back and the email goes out once
    _heal_ses()
    dlq = stack.resources.queues["NotificationDLQ"]
    for message in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]:
        sqs.send_message(QueueUrl=queue, MessageBody=message["Body"])
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
    stack.deliver("NotificationQueue", "notification")
    assert [n["email_status"] for n in stack.inbox("user-bob")] == ["sent"]
    assert len([e for e in _sent_emails() if "bob@example.com" in json.dumps(e.destinations)]) == 1


def test_the_same_message_delivered_twice_gives_one_notification_and_one_email(stack: Stack) -> None:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    stack.report()
    stack.deliver("EvaluationQueue", "policy_evaluation")
    stack.deliver("EffectsQueue", "effects")
    messages = stack.receive("NotificationQueue")
    notification = stack.handler("notification")
    for _ in range(2):
        result = notification.lambda_handler(stack.sqs_event("NotificationQueue", messages), stack.context)
        assert result == {"batchItemFailures": []}

    assert len(stack.inbox("user-bob")) == 1
    assert len(_sent_emails()) == 1


def test_a_notification_expires_after_the_appeal_window_and_the_policys_retention(stack: Stack) -> None:
    from datetime import datetime, timedelta

    from consent_guard.policy.document import load_policy

    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    stack.report()
    stack.run_pipeline()
    policy = load_policy()
    kept = timedelta(days=policy.appeal_window_days + policy.retention_days_after_appeal_window)
    stored = [i for i in stack.table().scan()["Items"] if i.get("type") == "notification"]
    assert stored
    for item in stored:
        created = datetime.fromisoformat(str(item["created_at"]).replace("Z", "+00:00"))
        assert int(item["expires_at"]) == int((created + kept).timestamp()), item["kind"]
    ttl = stack.session.client("dynamodb").describe_time_to_live(TableName=stack.table().name)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_one_bad_message_does_not_hold_back_or_repeat_the_other_nine(stack: Stack) -> None:
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    sqs = stack.session.client("sqs")
    queue = stack.resources.queues["NotificationQueue"]
    for i in range(9):
        sqs.send_message(
            QueueUrl=queue,
            MessageBody=json.dumps(
                {
                    "notification_id": f"n_test{i}",
                    "kind": "receipt",
                    "recipient_id": f"user-{i}",
                    "event_id": f"e{i}",
                    "facts": {"post_id": "post-1001", "category": "private_media", "submitted_at": "2026-11-25"},
                }
            ),
        )
    sqs.send_message(QueueUrl=queue, MessageBody='{"kind": "receipt"}')  # no id, no recipient: poison
    messages = stack.receive("NotificationQueue")
    assert len(messages) == 10

    result = stack.handler("notification").lambda_handler(stack.sqs_event("NotificationQueue", messages), stack.context)

    poison = [m["MessageId"] for m in messages if "notification_id" not in m["Body"]]
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == poison
    assert all(len(stack.inbox(f"user-{i}")) == 1 for i in range(9))


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize(
    "kind",
    [
        "receipt",
        "outcome",
        "awaiting_first_person",
        "statement_of_reasons",
        "lock_lifted",
        "appeal_outcome",
        "sla_breach",
        "reporting_warning",
        "reporting_suspended",
        "protected_media_matched",
    ],
)
def test_every_kind_renders_in_every_locale_without_personal_data(kind: str, locale: str) -> None:
    from consent_guard.models.domain import NotificationKind
    from consent_guard.services.notifications import render

    facts = {
        "case_id": "c_x",
        "post_id": "post-1",
        "category": "private_media",
        "outcome": "remove",
        "enforcement": "require_removal",
        "measures": ["content.hide", "account.lock"],
        "rule_ids": ["PIM-8"],
        "policy_version": "2026-11-25.1",
        "statement_of_reasons": "Rule PIM-8 ...",
        "automated": True,
        "decided_at": "2026-11-25T12:00:00.000Z",
        "appeal_deadline": "2027-05-27T12:00:00.000Z",
        "submitted_at": "2026-11-25T12:00:00.000Z",
        "reason": "post_deleted",
        "unfounded_count": 3,
        "window_days": 90,
        "suspend_after": 5,
        "suspension_days": 30,
        "suspended_until": "2026-12-25T12:00:00.000Z",
        "removed": False,
    }
    rendered = render(NotificationKind(kind), locale, facts)
    assert rendered.subject and rendered.text
    if not kind.startswith("reporting_"):  # those are about the reporter's conduct, not one post
        assert "post-1" in rendered.text or "c_x" in rendered.text
    assert "<p>" in rendered.html and "{{" not in rendered.text
