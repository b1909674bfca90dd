"""Notifications: the record of each notice (created once), its email status, failures, and inboxes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from consent_guard.models import items as it
from consent_guard.models.domain import AccountContext, Notification
from consent_guard.repository.base import TableAccess, _av, _code, _py


@dataclass
class DeliveryState:
    """What delivering a batch of notifications needs to know first, read in one BatchGetItem: the recipients'
    account contexts (address, locale) and the notifications already recorded under the batch's ids."""

    accounts: dict[str, AccountContext] = field(default_factory=dict)
    notifications: dict[str, Notification] = field(default_factory=dict)


class NotificationsRepository(TableAccess):
    def delivery_state(self, recipient_ids: Iterable[str], notification_ids: Iterable[str]) -> DeliveryState:
        """The account contexts and recorded notifications of a batch, in one strongly consistent batch read (a
        recorded notification must be seen: its email is never sent again once it is recorded as sent)."""
        keys = [it.account_key(r) for r in recipient_ids] + [it.notification_key(n) for n in notification_ids]
        state = DeliveryState()
        if not keys:
            return state
        for item in self._batch_get(keys):
            if item.get("type") == "account_context":
                account = it.account_context_from_item(item)
                state.accounts[account.facts.account_id] = account
            elif item.get("type") == "notification":
                notification = it.notification_from_item(item)
                state.notifications[notification.notification_id] = notification
        return state

    def create_notification(self, notification: Notification) -> bool:
        """Record a notification once. False when it already exists (a redelivered message)."""
        try:
            self._call(
                "put_item",
                TableName=self.table_name,
                Item=_av(it.notification_to_item(notification)),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_notification(self, notification_id: str) -> Notification | None:
        item = self._get(it.notification_key(notification_id), consistent=True)
        return it.notification_from_item(item) if item else None

    def set_email_status(self, notification_id: str, status: str, attempts: int) -> bool:
        """The email status of a recorded notification, on a retry of its email only (the first attempt's outcome
        is in the item's one put). Never moves a notification away from `sent`; False when it was already sent."""
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_av(it.notification_key(notification_id)),
                UpdateExpression="SET email_status = :s, attempts = :a",
                ConditionExpression="attribute_exists(PK) AND email_status <> :sent",
                ExpressionAttributeValues=_av({":s": status, ":a": attempts, ":sent": "sent"}),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def record_notification_failure(self, case_id: str, notification_id: str, kind: str, attempts: int) -> None:
        self._call(
            "put_item",
            TableName=self.table_name,
            Item=_av(
                {
                    "PK": f"CASE#{case_id}",
                    "SK": f"NOTIFYFAIL#{notification_id}",
                    "type": "notification_failure",
                    "notification_id": notification_id,
                    "kind": kind,
                    "attempts": attempts,
                }
            ),
        )

    def notification_failures(self, case_id: str) -> list[it.Item]:
        response = self._call(
            "query",
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :f)",
            ExpressionAttributeValues=_av({":pk": f"CASE#{case_id}", ":f": "NOTIFYFAIL#"}),
        )
        return [_py(i) for i in response.get("Items", [])]

    def inbox(
        self, recipient_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Notification], dict[str, Any] | None]:
        """A page of an inbox, newest first, from `start` (a key checked by consent_guard.cursors)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "ListIndex",
            "KeyConditionExpression": "LPK = :p",
            "ExpressionAttributeValues": _av({":p": it.inbox_partition(recipient_id)}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start is not None:
            kwargs["ExclusiveStartKey"] = start
        response = self._call("query", **kwargs)
        return [it.notification_from_item(_py(i)) for i in response.get("Items", [])], response.get("LastEvaluatedKey")
