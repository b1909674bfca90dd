"""Timers in the sparse, sharded DueIndex: what is due, and moving a timer only if it is still the one read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from consent_guard.models import items as it
from consent_guard.repository.base import Page, TableAccess, _av, _code, _py

POSITION_KEYS = ("PK", "SK", "DPK", "DSK")  # a DueIndex position: the table's key and the index's


def timer_position(timer: it.Item) -> dict[str, Any]:
    """The query position just after `timer` (one of `due_timers`' items), as DynamoDB's LastEvaluatedKey."""
    return _av({name: timer[name] for name in POSITION_KEYS})


class TimersRepository(TableAccess):
    def due_timers(self, shard: int, now: datetime, cursor: dict[str, Any] | None = None, limit: int = 100) -> Page:
        """Timers due at `now` in one DueIndex shard, oldest first. Reads only what is due."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "DueIndex",
            "KeyConditionExpression": "DPK = :p AND DSK <= :now",
            "ExpressionAttributeValues": _av({":p": f"DUE#{shard}", ":now": it.iso(now) + "\uffff"}),
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = cursor
        response = self._call("query", **kwargs)
        return Page(items=[_py(i) for i in response.get("Items", [])], cursor=response.get("LastEvaluatedKey"))

    def reschedule_timer(self, key: it.Item, expected_dsk: str, kind: str, due_at: datetime | None) -> bool:
        """Move (or with due_at=None, remove) a timer, only if it is still the one this run read.

        Two overlapping runs read the same due timer; exactly one of them wins this write and acts on it.
        """
        values: dict[str, Any]
        if due_at is None:
            update, values = "REMOVE DPK, DSK, due_kind, due_at", {":expected": expected_dsk}
        else:
            attributes = it.due_attributes(kind, key["PK"], due_at)
            update = (
                "SET DPK = :dpk, DSK = :dsk, due_kind = :kind, due_at = :at,"
                " timer_runs = if_not_exists(timer_runs, :zero) + :one"
            )
            values = {
                ":expected": expected_dsk,
                ":dpk": attributes["DPK"],
                ":dsk": attributes["DSK"],
                ":kind": kind,
                ":at": it.iso(due_at),
                ":zero": 0,
                ":one": 1,
            }
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_av(key),
                UpdateExpression=update,
                ConditionExpression="DSK = :expected",
                ExpressionAttributeValues=_av(values),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True
