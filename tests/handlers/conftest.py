"""Handler tests on moto: resources built from template.yaml, handlers invoked with events/*.json."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.template import LocalResources, create_resources
from tests.conftest import FakeLambdaContext, load_event

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _clear_caches() -> None:
    from consent_guard import config, messaging, repository, transparency_db
    from consent_guard.consumers import bank_index, effects, evaluation, matching, notification, review, statements
    from consent_guard.http import case_api, intake_api, matching_api

    config.clear_settings_cache()
    for fn in (
        repository.dynamodb_client,
        messaging.sqs_client,
        messaging.events_client,
        messaging.ses_client,
        intake_api.intake_service,
        case_api.repository,
        case_api.case_service,
        evaluation.evaluation_service,
        evaluation.inline_delivery,
        effects.effect_delivery,
        evaluation.matched_media_service,
        matching.evaluation_queue,
        matching_api.matcher,
        bank_index.s3_client,
        case_api.bank_service,
        notification.notification_service,
        review.review_service,
        statements.submitter,
        transparency_db.api_token,
        transparency_db.ssm_client,
    ):
        fn.cache_clear()


@dataclass
class Stack:
    """The moto-backed stack of one test, with helpers to drive the real handlers."""

    resources: LocalResources
    session: Any
    context: FakeLambdaContext
    tap_queue_url: str
    modules: dict[str, ModuleType] = field(default_factory=dict)

    # ------------------------------------------------------------ handlers

    def handler(self, name: str) -> ModuleType:
        if name not in self.modules:
            import importlib

            self.modules[name] = importlib.import_module(f"functions.{name}.app")
        return self.modules[name]

    def http(
        self,
        event_file: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        path_params: dict[str, str] | None = None,
        sub: str | None = None,
        groups: list[str] | None = None,
        platform: bool | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Invoke the HTTP function that owns the event file's route, as API Gateway would."""
        function = event_file.split("/", 1)[0]
        event = copy.deepcopy(load_event(event_file))
        if body is not None:
            event["body"] = json.dumps(body)
        if raw_body is not None:
            event["body"] = raw_body
        if path_params is not None:
            event["pathParameters"] = path_params
            path = event["routeKey"].split(" ", 1)[1]
            for key, value in path_params.items():
                path = path.replace("{" + key + "}", value)
            event["rawPath"] = path
            event["requestContext"]["http"]["path"] = path
        if query is not None:
            event["queryStringParameters"] = query
            event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
        if headers is not None:
            event["headers"].update(headers)
        claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        if platform is True:
            claims.clear()
            claims.update({"sub": "platform-client", "client_id": "platform-client", "scope": "consent-guard/platform"})
            event["requestContext"]["authorizer"]["jwt"]["scopes"] = ["consent-guard/platform"]
        elif platform is False or sub is not None:
            claims.clear()
            claims.update({"sub": sub or "user-alice", "cognito:groups": "[" + " ".join(groups or []) + "]"})
            event["requestContext"]["authorizer"]["jwt"]["scopes"] = None
        response = self.handler(function).lambda_handler(event, self.context)
        text = response.get("body") or ""
        if response.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        payload = json.loads(text) if text else {}
        return response["statusCode"], payload, {k.lower(): v for k, v in (response.get("headers") or {}).items()}

    # ------------------------------------------------------------ the platform, reporters, moderators

    def post_context(
        self, post_id: str = "post-1001", author: str = "user-bob", media: int = 1, **signals: bool
    ) -> None:
        status, _, _ = self.http(
            "report_intake/put_post_context.json",
            path_params={"post_id": post_id},
            body={
                "author_id": author,
                "text": "look who I saw",
                "media": [{"media_id": f"{post_id}-m{i}", "media_type": "photo"} for i in range(media)],
                "created_at": "2026-11-20T10:00:00Z",
                "signals": signals,
            },
        )
        assert status == 200

    def account_context(self, account_id: str, **fields: Any) -> None:
        status, _, _ = self.http(
            "report_intake/put_account_context.json", path_params={"account_id": account_id}, body=fields
        )
        assert status == 200

    def verify_claim(self, sub: str, post_id: str, media: int = 1) -> None:
        """The platform confirms a first-person claim: the reporter's identity is verified and they are the account
        shown in the post's media (what lets automation go beyond hiding the post, PIM-A2). Written the way the
        platform's context routes store it, keeping what the account's context already holds."""
        from consent_guard.models import items as it
        from consent_guard.models.domain import AccountContext, AccountFacts, MediaFacts

        table = self.table()
        stored = table.get_item(Key=it.account_key(sub)).get("Item")
        context = (
            it.account_context_from_item(stored)
            if stored
            else AccountContext(facts=AccountFacts(account_id=sub), updated_at=NOW)
        )
        verified = context.model_copy(update={"facts": context.facts.model_copy(update={"identity_verified": True})})
        table.put_item(Item=it.account_context_to_item(verified))
        for i in range(media):
            media_id = f"{post_id}-m{i}"
            found = table.get_item(Key=it.media_key(media_id)).get("Item")
            facts = it.media_from_item(found) if found else MediaFacts(media_id=media_id)
            people = tuple(sorted({*facts.depicted_account_ids, sub}))
            table.put_item(Item=it.media_to_item(facts.model_copy(update={"depicted_account_ids": people}), NOW))

    def report(
        self,
        sub: str = "user-alice",
        post_id: str = "post-1001",
        category: str = "private_media",
        relationship: str = "self",
        verified: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        """A report; a `self` report's claim is confirmed by the platform unless `verified=False` (self-declared)."""
        if relationship == "self" and verified:
            self.verify_claim(sub, post_id)
        attestations = {"accurate_and_complete": True}
        if relationship == "self":
            attestations |= {"information_is_mine": True, "not_published_elsewhere": True}
        body = {
            "post_id": post_id,
            "category": category,
            "relationship": relationship,
            "attestations": attestations,
            **extra,
        }
        status, accepted, _ = self.http(
            "report_intake/submit_report.json",
            body=body,
            sub=sub,
            headers={"idempotency-key": f"{sub}-{post_id}-{category}"},
        )
        assert status == 202, accepted
        return accepted

    def inbox(self, sub: str) -> list[dict[str, Any]]:
        status, page, _ = self.http("case_api/my_notifications.json", sub=sub)
        assert status == 200
        return list(page["items"])

    def report_view(self, report_id: str, sub: str = "user-alice") -> dict[str, Any]:
        status, view, _ = self.http("report_intake/get_report.json", path_params={"report_id": report_id}, sub=sub)
        assert status == 200, view
        return view

    # ------------------------------------------------------------ queues

    def receive(self, queue: str, max_messages: int = 10) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        return sqs.receive_message(
            QueueUrl=self.resources.queues[queue],
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", [])

    def depth(self, queue: str) -> int:
        sqs = self.session.client("sqs")
        attrs = sqs.get_queue_attributes(
            QueueUrl=self.resources.queues[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def sqs_event(self, queue: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        template = load_event(
            {
                "EvaluationQueue": "policy_evaluation/report_submitted.json",
                "EffectsQueue": "effects/outbox_ready.json",
                "ReReviewShardQueue": "scheduled_review/shard_work.json",
            }.get(queue, "notification/notification_request.json")
        )["Records"][0]
        records = []
        for message in messages:
            record = copy.deepcopy(template)
            record.update(
                messageId=message["MessageId"],
                receiptHandle=message["ReceiptHandle"],
                body=message["Body"],
                md5OfBody=message["MD5OfBody"],
                eventSourceARN=self.resources.queue_arns[queue],
            )
            record["attributes"].update(
                {k: v for k, v in message.get("Attributes", {}).items() if k in record["attributes"]}
            )
            records.append(record)
        return {"Records": records}

    def deliver(self, queue: str, function: str, rounds: int = 20) -> int:
        """Deliver the queue's messages to the function as real SQS batches, deleting only successes."""
        sqs = self.session.client("sqs")
        delivered = 0
        for _ in range(rounds):
            messages = self.receive(queue)
            if not messages:
                break
            result = self.handler(function).lambda_handler(self.sqs_event(queue, messages), self.context)
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=self.resources.queues[queue], ReceiptHandle=message["ReceiptHandle"])
                    delivered += 1
            if failed:
                break
        return delivered

    def run_pipeline(self, rounds: int = 5) -> None:
        """Evaluation, effects, then notification, until the queues are quiet."""
        for _ in range(rounds):
            moved = self.deliver("EvaluationQueue", "policy_evaluation")
            moved += self.deliver("EffectsQueue", "effects")
            moved += self.deliver("NotificationQueue", "notification")
            if not moved:
                return

    def deliver_effects(self) -> int:
        """Only the effects queue (then the notifications it queued)."""
        moved = self.deliver("EffectsQueue", "effects")
        return moved + self.deliver("NotificationQueue", "notification")

    def enforcement_events(self) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        found = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.tap_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.tap_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def scheduled_review(self) -> dict[str, Any]:
        return self.handler("scheduled_review").lambda_handler(
            load_event("scheduled_review/scheduled.json"), self.context
        )

    def table(self) -> Any:
        return self.session.resource("dynamodb").Table(self.resources.tables["ConsentGuardTable"])

    def stored_case_events(self, case_id: str | None = None) -> list[str]:
        """The types of the case events in the table, in order (of one case, or of every case by sequence), read
        from the stored items as the repository reads them (one item holds one change's events)."""
        from consent_guard.models.items import events_from_item

        items = [i for i in self.table().scan()["Items"] if i["type"] == "case_event"]
        if case_id is not None:
            items = [i for i in items if i["PK"] == f"CASE#{case_id}"]
        events = [e for i in items for e in events_from_item(i)]
        return [e.type.value for e in sorted(events, key=lambda e: (e.seq, e.case_id))]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext) -> Iterator[Stack]:
    from local import moto_adapt

    # transactions cost O(items touched), as on the local stack: moto alone copies whole tables per transaction, and
    # every change now carries its statistics effect, so a storm test would otherwise be quadratic
    moto_adapt.apply()
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        resources = create_resources(session)
        for key, value in resources.environment().items():
            monkeypatch.setenv(key, value)
        # a tap on the enforcement bus, so tests can see what the platform would receive
        sqs = session.client("sqs")
        tap = sqs.create_queue(QueueName="enforcement-tap")["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = session.client("events")
        bus = resources.buses["EnforcementBus"]
        events.put_rule(
            Name="tap", EventBusName=bus, EventPattern=json.dumps({"source": ["consent-guard.enforcement"]})
        )
        events.put_targets(Rule="tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": tap_arn}])
        _clear_caches()
        yield Stack(resources=resources, session=session, context=lambda_context, tap_queue_url=tap)
        _clear_caches()


@pytest.fixture
def frozen_now() -> Callable[[], datetime]:
    return lambda: NOW
