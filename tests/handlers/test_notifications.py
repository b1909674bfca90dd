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
    messages = _first_report_notifications(stack)
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


# ---------------------------------------------------------------- lean delivery: one read, one write each


def _first_report_notifications(stack: Stack) -> list[dict[str, Any]]:
    """The notification messages of a post's first report: receipt and outcome (reporter), statement (author)."""
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    stack.report()
    stack.deliver("EvaluationQueue", "policy_evaluation")
    stack.deliver("EffectsQueue", "effects")
    messages = stack.receive("NotificationQueue")
    assert len(messages) == 3
    return messages


def _count_dynamodb_calls() -> list[str]:
    from consent_guard.repository import dynamodb_client

    calls: list[str] = []
    dynamodb_client().meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name), unique_id="count-calls"
    )
    return calls


def _fail_dynamodb(operation: str, times: int, code: str = "ProvisionedThroughputExceededException") -> list[int]:
    """The next `times` calls of `operation` fail with `code`; returns the list counting them."""
    from consent_guard.repository import dynamodb_client

    failed: list[int] = []

    def refuse(**_: Any) -> None:
        if len(failed) < times:
            failed.append(1)
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    dynamodb_client().meta.events.register(f"before-call.dynamodb.{operation}", refuse, unique_id=f"fail-{operation}")
    return failed


def test_a_batch_is_read_once_and_each_notification_written_once_with_its_emails_outcome(stack: Stack) -> None:
    messages = _first_report_notifications(stack)
    calls = _count_dynamodb_calls()

    result = stack.handler("notification").lambda_handler(stack.sqs_event("NotificationQueue", messages), stack.context)

    assert result == {"batchItemFailures": []}
    # one batch read for every recipient's context and every record; no status update rewrites an item
    assert sorted(calls) == ["BatchGetItem", "PutItem", "PutItem", "PutItem"]
    stored = [i for i in stack.table().scan()["Items"] if i.get("type") == "notification"]
    assert sorted(str(i["email_status"]) for i in stored) == ["none", "none", "sent"]
    assert all("subject" not in i and "body" not in i for i in stored)  # the text is stored once, compressed


def test_every_notification_item_fits_one_write_unit(stack: Stack) -> None:
    from bench.awscalls import item_size
    from consent_guard.repository import _av

    stack.handler("notification").lambda_handler(
        stack.sqs_event("NotificationQueue", _first_report_notifications(stack)), stack.context
    )
    stored = [i for i in stack.table().scan()["Items"] if i.get("type") == "notification"]
    assert len(stored) == 3
    for item in stored:
        # a whole item (and so its ListIndex copy) within 1 KB: one WRU each, where it was 1 + 2 + 3
        assert item_size(_av({k: bytes(v) if hasattr(v, "value") else v for k, v in item.items()})) <= 1024


def test_the_inbox_shows_exactly_the_text_that_was_emailed(stack: Stack) -> None:
    stack.handler("notification").lambda_handler(
        stack.sqs_event("NotificationQueue", _first_report_notifications(stack)), stack.context
    )
    (email,) = _sent_emails()
    (notice,) = stack.inbox("user-bob")
    assert notice["kind"] == "statement_of_reasons" and notice["email_status"] == "sent"
    from consent_guard.services.notifications import email_html

    assert notice["subject"] == email.subject
    assert email.body == email_html("en", notice["subject"], notice["body"])  # moto keeps the HTML part
    assert "What was reported" in notice["body"] and "post-1001" in notice["body"]
    for reporter_notice in stack.inbox("user-alice"):
        assert reporter_notice["subject"] and reporter_notice["body"] and reporter_notice["email_status"] == "none"


def test_a_crash_after_the_email_before_its_record_sends_again_and_records_once(stack: Stack) -> None:
    """The put waits for the email's outcome: a crash between the two (here the put failing) leaves no record,
    so the retry emails again (at least once) and records it; after that, no redelivery sends it again."""
    messages = _first_report_notifications(stack)
    statement = next(m for m in messages if '"kind":"statement_of_reasons"' in m["Body"])
    notification = stack.handler("notification")
    failed = _fail_dynamodb("PutItem", 1)

    first = notification.lambda_handler(stack.sqs_event("NotificationQueue", [statement]), stack.context)
    assert failed and [f["itemIdentifier"] for f in first["batchItemFailures"]] == [statement["MessageId"]]
    assert len(_sent_emails()) == 1 and stack.inbox("user-bob") == []

    for _ in range(2):  # the retry, then a redelivery of the same message
        again = notification.lambda_handler(stack.sqs_event("NotificationQueue", [statement]), stack.context)
        assert again == {"batchItemFailures": []}
    assert len(_sent_emails()) == 2  # the crash window's one repeat, never more
    assert [(n["kind"], n["email_status"]) for n in stack.inbox("user-bob")] == [("statement_of_reasons", "sent")]


def test_a_failed_batch_read_falls_back_to_each_messages_own_read(stack: Stack) -> None:
    messages = _first_report_notifications(stack)
    failed = _fail_dynamodb("BatchGetItem", 1, code="ValidationException")

    result = stack.handler("notification").lambda_handler(stack.sqs_event("NotificationQueue", messages), stack.context)

    assert failed and result == {"batchItemFailures": []}
    assert len(stack.inbox("user-alice")) == 2 and len(stack.inbox("user-bob")) == 1
    assert len(_sent_emails()) == 1


def _refuse_oversized_keys() -> list[str]:
    """DynamoDB refuses a request with a partition key over 2048 bytes, a BatchGetItem as a whole (moto does not)."""
    from consent_guard.repository import dynamodb_client

    refused: list[str] = []

    def check(model: Any, params: dict[str, Any], **_: Any) -> None:
        keys = [k for t in params.get("RequestItems", {}).values() for k in t.get("Keys", [])]
        keys += [params["Key"]] if "Key" in params else []
        if any(len(k["PK"]["S"].encode()) > 2048 for k in keys):
            refused.append(model.name)
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "key too large"}}, model.name)

    dynamodb_client().meta.events.register("before-parameter-build.dynamodb.*", check, unique_id="oversized-keys")
    return refused


def test_a_recipient_id_dynamodb_refuses_fails_only_its_own_message(stack: Stack) -> None:
    stack.account_context("user-bob", contact_email="bob@example.com")
    refused = _refuse_oversized_keys()
    sqs = stack.session.client("sqs")
    queue = stack.resources.queues["NotificationQueue"]
    facts = {"post_id": "post-1001", "category": "private_media", "submitted_at": "2026-11-25"}
    for n, recipient in (("n_ok1", "user-bob"), ("n_bad", "u" * 2100), ("n_ok2", "user-carol")):  # key > 2 KB
        body = {"notification_id": n, "kind": "receipt", "recipient_id": recipient, "event_id": n, "facts": facts}
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))
    messages = stack.receive("NotificationQueue")

    result = stack.handler("notification").lambda_handler(stack.sqs_event("NotificationQueue", messages), stack.context)

    bad = [m["MessageId"] for m in messages if "n_bad" in m["Body"]]
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == bad
    assert refused[0] == "BatchGetItem"  # the batch read was refused whole; each message then read its own
    assert len(stack.inbox("user-bob")) == 1 and len(stack.inbox("user-carol")) == 1
    assert len(_sent_emails()) == 1


def test_the_same_notification_twice_in_one_batch_is_recorded_and_emailed_once(stack: Stack) -> None:
    messages = _first_report_notifications(stack)
    statement = next(m for m in messages if '"kind":"statement_of_reasons"' in m["Body"])
    twin = {**statement, "MessageId": "twin-of-" + statement["MessageId"]}

    result = stack.handler("notification").lambda_handler(
        stack.sqs_event("NotificationQueue", [statement, twin]), stack.context
    )

    assert result == {"batchItemFailures": []}
    assert len(stack.inbox("user-bob")) == 1 and len(_sent_emails()) == 1


def test_a_notification_recorded_before_the_put_waited_for_the_email_is_still_sent_once(stack: Stack) -> None:
    """Items written by the earlier code (status `pending`, subject and body in the clear) are read and finished."""
    from consent_guard.models.domain import NotificationKind
    from consent_guard.services.notifications import render

    stack.account_context("user-bob", contact_email="bob@example.com")
    facts = {"post_id": "post-1001", "category": "private_media", "submitted_at": "2026-11-25T11:00:00.000Z"}
    rendered = render(NotificationKind.RECEIPT, "en", facts)
    stack.table().put_item(
        Item={
            "PK": "NOTIFICATION#n_legacy",
            "SK": "NOTIFICATION",
            "type": "notification",
            "notification_id": "n_legacy",
            "recipient_id": "user-bob",
            "kind": "receipt",
            "locale": "en",
            "subject": rendered.subject,
            "body": rendered.text,
            "created_at": "2026-11-25T11:00:00.000Z",
            "email_status": "pending",
            "attempts": 0,
            "LPK": "INBOX#user-bob",
            "LSK": "2026-11-25T11:00:00.000Z#n_legacy",
        }
    )
    body = {"notification_id": "n_legacy", "kind": "receipt", "recipient_id": "user-bob", "event_id": "e", "facts": {}}
    stack.session.client("sqs").send_message(
        QueueUrl=stack.resources.queues["NotificationQueue"], MessageBody=json.dumps(body)
    )
    for _ in range(2):
        stack.handler("notification").lambda_handler(
            stack.sqs_event("NotificationQueue", stack.receive("NotificationQueue") or []), stack.context
        )
    (notice,) = stack.inbox("user-bob")
    assert (notice["subject"], notice["body"], notice["email_status"]) == (rendered.subject, rendered.text, "sent")
    assert [e.subject for e in _sent_emails()] == [rendered.subject]
