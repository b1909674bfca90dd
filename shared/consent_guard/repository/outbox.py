"""The transactional outbox: one item per change that owes effects, written in the change's own transaction
(`outbox_put` gives the action), advanced by its deliverer (services/delivery.py: the evaluation function for what
it committed, the effects function for what is announced, which reads it first), removed once every effect went out.

The item carries a DueIndex timer (kind `outbox`): if the message that announces it is lost, or its delivery
keeps failing, the scheduled re-review finds it and announces it again, so no committed effect is stranded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from consent_guard.models import items as it
from consent_guard.models.effects import Effect, Outbox
from consent_guard.repository.base import TableAccess, TransactionRejected, _av, _code

OUTBOX_TIMER = "outbox"
# the timer fires only when the announced delivery did not finish in this time (the happy path deletes the item)
OUTBOX_GRACE = timedelta(minutes=2)


EMBEDDED = "report:"  # a folded report's effects live on the report item itself (one UpdateItem, no transaction)


def outbox_key(outbox_id: str) -> it.Item:
    if outbox_id.startswith(EMBEDDED):
        return it.report_key(outbox_id.removeprefix(EMBEDDED))
    return {"PK": f"OUTBOX#{outbox_id}", "SK": "OUTBOX"}


def outbox_id_of(pk: str) -> str:
    """The outbox id of a timer's owner (an outbox item, or a report carrying its own effects)."""
    if pk.startswith("REPORT#"):
        return EMBEDDED + pk.removeprefix("REPORT#")
    return pk.removeprefix("OUTBOX#")


def embedded_outbox(outbox: Outbox, now: datetime) -> it.Item:
    """The attributes that make an item carry its own outbox (a folded report)."""
    item = outbox_item(outbox, now)
    return {k: item[k] for k in ("effects", "idx", "step", "DPK", "DSK")}


@dataclass(frozen=True)
class OutboxItem:
    outbox_id: str
    effects: tuple[Effect, ...]
    index: int  # effects before it are delivered
    cursor: dict[str, Any] | None  # the paged effect at `index`: where its next page starts
    step: int  # bumped by every advance: a conditional write token (two deliverers never both advance)
    created_at: str
    counted: bool = False  # its statistics were added (with an advance before the item's removal)


def outbox_item(outbox: Outbox, now: datetime) -> it.Item:
    ordered = outbox.ordered()
    key = outbox_key(ordered.outbox_id)
    return {
        **key,
        "type": "outbox",
        "outbox_id": ordered.outbox_id,
        "effects": it.packed(
            json.dumps([e.model_dump(mode="json") for e in ordered.effects], separators=(",", ":")), policy_text=True
        ),
        "idx": 0,
        "step": 0,
        "created_at": it.iso(now),
        **it.due_attributes(OUTBOX_TIMER, key["PK"], now + OUTBOX_GRACE),
    }


def outbox_put(table_name: str, outbox: Outbox, now: datetime) -> dict[str, Any]:
    """The transaction action that stores `outbox` with the change (never twice for the same change)."""
    return {
        "Put": {
            "TableName": table_name,
            "Item": _av(outbox_item(outbox, now)),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


class OutboxRepository(TableAccess):
    def get_outbox(self, outbox_id: str) -> OutboxItem | None:
        item = self._get(outbox_key(outbox_id), consistent=True)
        if item is None or "effects" not in item:
            return None
        return OutboxItem(
            outbox_id=outbox_id,
            effects=tuple(Effect.model_validate(e) for e in json.loads(it.unpacked(item["effects"]))),
            index=int(item.get("idx", 0)),
            cursor=json.loads(item["cursor"]) if item.get("cursor") else None,
            step=int(item.get("step", 0)),
            created_at=str(item.get("created_at", "")),
            counted=bool(item.get("counted")),
        )

    def advance_outbox(
        self,
        outbox_id: str,
        step: int,
        index: int,
        cursor: dict[str, Any] | None,
        now: datetime,
        counters: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """Record progress (effects before `index` delivered, the next page at `cursor`) if no one else advanced
        it since `step` was read; the timer moves on, so the safety net does not fire while a fan-out runs.
        `counters` (repository/stats.counter_updates) go in the same transaction and the item is marked `counted`:
        they are added with this step, once."""
        key = outbox_key(outbox_id)
        due = it.due_attributes(OUTBOX_TIMER, key["PK"], now + OUTBOX_GRACE)
        values: dict[str, Any] = {
            ":step": step,
            ":next": step + 1,
            ":idx": index,
            ":dpk": due["DPK"],
            ":dsk": due["DSK"],
        }
        update = "SET step = :next, idx = :idx, DPK = :dpk, DSK = :dsk"
        if counters:
            update += ", counted = :counted"
            values[":counted"] = 1
        if cursor is None:
            update += " REMOVE #c"
        else:
            update += ", #c = :cursor"
            values[":cursor"] = json.dumps(cursor, separators=(",", ":"))
        return self._write_step(
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _av(key),
                    "UpdateExpression": update,
                    "ConditionExpression": "step = :step",
                    "ExpressionAttributeNames": {"#c": "cursor"},
                    "ExpressionAttributeValues": _av(values),
                }
            },
            counters,
        )

    def mark_counted(self, outbox_id: str, step: int, counters: Sequence[dict[str, Any]]) -> bool:
        """Add `counters` with a step that records nothing else (an item held back by a poison effect still counts
        its change once): the item is marked `counted` and its step moves on."""
        return self._write_step(
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _av(outbox_key(outbox_id)),
                    "UpdateExpression": "SET step = :next, counted = :counted",
                    "ConditionExpression": "step = :step",
                    "ExpressionAttributeValues": _av({":step": step, ":next": step + 1, ":counted": 1}),
                }
            },
            counters,
        )

    def complete_outbox(self, outbox_id: str, step: int, counters: Sequence[dict[str, Any]] = ()) -> bool:
        """Every effect went out: the item (and its timer) goes - or, on an item that carries its own outbox, the
        outbox's attributes - with `counters` in the same transaction. False when another delivery got there
        first (nothing is added then)."""
        key = _av(outbox_key(outbox_id))
        condition = {"ConditionExpression": "step = :step", "ExpressionAttributeValues": _av({":step": step})}
        if outbox_id.startswith(EMBEDDED):
            action = {
                "Update": {
                    "TableName": self.table_name,
                    "Key": key,
                    "UpdateExpression": "REMOVE effects, idx, step, #c, DPK, DSK, counted",
                    "ExpressionAttributeNames": {"#c": "cursor"},
                    **condition,
                }
            }
        else:
            action = {"Delete": {"TableName": self.table_name, "Key": key, **condition}}
        return self._write_step(action, counters)

    def _write_step(self, action: dict[str, Any], counters: Sequence[dict[str, Any]]) -> bool:
        """One conditional write of the item's step: alone, or first in a transaction with the counters' ADDs
        (then they are added if and only if the step is written). False when the step had moved."""
        if counters:
            try:
                self._transact([action, *counters])
            except TransactionRejected as rejected:
                if rejected.codes and rejected.codes[0] == "ConditionalCheckFailed":
                    return False
                raise
            return True
        ((kind, params),) = action.items()
        operation = {"Update": "update_item", "Delete": "delete_item"}[kind]
        try:
            self._call(operation, **params)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def outbox_timer(self, outbox_id: str) -> it.Item | None:
        """The stored item's keys and timer (for the scheduled re-review)."""
        item = self._get(outbox_key(outbox_id), consistent=True)
        return {k: item[k] for k in ("PK", "SK", "DSK", "timer_runs") if k in item} if item else None
