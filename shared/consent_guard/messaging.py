"""Adapters for SQS, EventBridge and SES v2. Clients are built lazily and cached; retries are explicit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from consent_guard import aws
from consent_guard.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient


@cache
def sqs_client() -> SQSClient:
    client: SQSClient = aws.client("sqs")
    return client


@cache
def events_client() -> EventBridgeClient:
    client: EventBridgeClient = aws.client("events")
    return client


@cache
def ses_client() -> SESV2Client:
    client: SESV2Client = aws.client("sesv2")
    return client


class DeliveryFailed(Exception):
    """A send did not go through after the SDK's retries; the caller leaves the message for a retry."""


class QueuePublisher:
    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> SQSClient:
        if self._client is None:
            self._client = sqs_client()
        return self._client

    def send(self, message: BaseModel, group_id: str | None = None, deduplication_id: str | None = None) -> None:
        """One message; on a FIFO queue, in `group_id` (one at a time per group) and deduplicated by its id."""
        fifo: dict[str, str] = {}
        if group_id is not None:
            fifo["MessageGroupId"] = group_id
        if deduplication_id is not None:
            fifo["MessageDeduplicationId"] = deduplication_id
        try:
            self.client.send_message(QueueUrl=self.queue_url, MessageBody=message.model_dump_json(), **fifo)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryFailed(type(exc).__name__) from exc

    def send_all(self, messages: Sequence[BaseModel]) -> None:
        """Send in batches of 10; a partial failure is retried once, then raised."""
        for start in range(0, len(messages), 10):
            entries = [
                {"Id": str(i), "MessageBody": m.model_dump_json()} for i, m in enumerate(messages[start : start + 10])
            ]
            for _ in range(2):
                try:
                    response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)  # type: ignore[arg-type]
                except (ClientError, BotoCoreError) as exc:
                    raise DeliveryFailed(type(exc).__name__) from exc
                failed = {f["Id"] for f in response.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
            else:
                raise DeliveryFailed(f"{len(entries)} messages not accepted by the queue")


@dataclass(frozen=True)
class EnforcementEvent:
    """An instruction to the platform. `event_id` is stable so consumers can drop duplicates."""

    event_id: str
    action: str  # content.hide, content.restore, account.lock, account.unlock, account.suspend, account.reinstate
    case_id: str
    post_id: str
    account_id: str
    rule_ids: tuple[str, ...]
    policy_version: str
    at: str

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> EnforcementEvent:
        return cls(
            event_id=str(detail["event_id"]),
            action=str(detail["action"]),
            case_id=str(detail["case_id"]),
            post_id=str(detail["post_id"]),
            account_id=str(detail["account_id"]),
            rule_ids=tuple(str(r) for r in detail["rule_ids"]),
            policy_version=str(detail["policy_version"]),
            at=str(detail["at"]),
        )

    def detail(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "action": self.action,
            "case_id": self.case_id,
            "post_id": self.post_id,
            "account_id": self.account_id,
            "rule_ids": list(self.rule_ids),
            "policy_version": self.policy_version,
            "at": self.at,
        }


class EnforcementPublisher:
    SOURCE = "consent-guard.enforcement"

    def __init__(self, bus_name: str, client: EventBridgeClient | None = None) -> None:
        self.bus_name = bus_name
        self._client = client

    @property
    def client(self) -> EventBridgeClient:
        if self._client is None:
            self._client = events_client()
        return self._client

    def publish(self, events: Sequence[EnforcementEvent]) -> None:
        for start in range(0, len(events), 10):
            chunk = events[start : start + 10]
            entries = [
                {
                    "Source": self.SOURCE,
                    "DetailType": e.action,
                    "Detail": json.dumps(e.detail(), sort_keys=True),
                    "EventBusName": self.bus_name,
                    "Resources": [],
                }
                for e in chunk
            ]
            try:
                response = self.client.put_events(Entries=entries)  # type: ignore[arg-type]
            except (ClientError, BotoCoreError) as exc:
                raise DeliveryFailed(type(exc).__name__) from exc
            if response.get("FailedEntryCount", 0):
                raise DeliveryFailed(f"{response['FailedEntryCount']} enforcement events not accepted")


class EmailSender:
    def __init__(self, sender: str, client: SESV2Client | None = None) -> None:
        self.sender = sender
        self._client = client

    @property
    def client(self) -> SESV2Client:
        if self._client is None:
            self._client = ses_client()
        return self._client

    def send(self, to: str, subject: str, text: str, html: str) -> str:
        try:
            response = self.client.send_email(
                FromEmailAddress=self.sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": text, "Charset": "UTF-8"},
                            "Html": {"Data": html, "Charset": "UTF-8"},
                        },
                    }
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise DeliveryFailed(type(exc).__name__) from exc
        return str(response.get("MessageId", ""))


def unavailable_from(exc: DeliveryFailed) -> StorageUnavailable:
    return StorageUnavailable("a downstream service is temporarily unavailable", error_code=str(exc))
