"""Statements of reasons owed to the EU Transparency Database.

A statement is written in the decision's own transaction (CaseChange.statements), under the case:
PK CASE#<case_id>, SK STATEMENT#<seq>. While it is pending it sits in a sparse, sharded ListIndex partition
(LPK TDB#PENDING#<shard>, LSK created_at#puid) that the submitter drains oldest first; accepting or rejecting it
removes it from there. No Scan, and nothing is ever deleted: the staff view of a case lists them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from consent_guard.ids import shard_of
from consent_guard.models import items as it
from consent_guard.models.tdb import PendingStatement, Statement, SubmissionStatus
from consent_guard.repository import CaseRepository, TransactionRejected, _av, _code, _py

PENDING_SHARDS = 4
TYPE = "tdb_statement"


def statement_key(case_id: str, seq: int) -> it.Item:
    return {"PK": f"CASE#{case_id}", "SK": f"STATEMENT#{seq:08d}"}


def pending_partition(shard: int) -> str:
    return f"TDB#PENDING#{shard}"


def statement_to_item(pending: PendingStatement) -> it.Item:
    item: it.Item = {
        **statement_key(pending.case_id, pending.seq),
        "type": TYPE,
        "case_id": pending.case_id,
        "seq": pending.seq,
        "puid": pending.puid,
        # packed: the statement repeats the rules' texts (decision facts, explanation) and lists 30 territories;
        # compressed it is about 40% of the JSON, in the table and in the pending index's copy alike
        "statement": it.packed(
            json.dumps(pending.statement.payload(), sort_keys=True, separators=(",", ":")), policy_text=True
        ),
        "status": pending.status.value,
        "created_at": it.iso(pending.created_at),
        "attempts": pending.attempts,
        "tdb_uuid": pending.tdb_uuid,
        "permalink": pending.permalink,
        "submitted_at": it.iso(pending.submitted_at) if pending.submitted_at else None,
        "rejected_fields": list(pending.rejected_fields) or None,
    }
    if pending.status is SubmissionStatus.PENDING:
        item["LPK"] = pending_partition(shard_of(pending.puid, PENDING_SHARDS))
        item["LSK"] = f"{it.iso(pending.created_at)}#{pending.puid}"
    return item


def statement_from_item(item: it.Item) -> PendingStatement:
    return PendingStatement(
        case_id=str(item["case_id"]),
        seq=int(item["seq"]),
        statement=Statement.model_validate_json(it.unpacked(item["statement"])),
        created_at=datetime.fromisoformat(str(item["created_at"])),
        status=SubmissionStatus(str(item["status"])),
        attempts=int(item.get("attempts", 0)),
        tdb_uuid=item.get("tdb_uuid"),
        permalink=item.get("permalink"),
        submitted_at=datetime.fromisoformat(str(item["submitted_at"])) if item.get("submitted_at") else None,
        rejected_fields=tuple(item.get("rejected_fields") or ()),
    )


def statement_put(table_name: str, pending: PendingStatement) -> dict[str, Any]:
    """The transaction action that records a statement with its decision; never overwrites one."""
    return {
        "Put": {
            "TableName": table_name,
            "Item": _av(statement_to_item(pending)),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


class StatementRepository(CaseRepository):
    """The statements of reasons of the Transparency Database: the pending ones, and each one's outcome."""

    def pending(self, limit: int = 100) -> list[PendingStatement]:
        """Up to `limit` pending statements, oldest first within each shard (one Query per shard)."""
        found: list[PendingStatement] = []
        for shard in range(PENDING_SHARDS):
            if len(found) >= limit:
                break
            response = self._call(
                "query",
                TableName=self.table_name,
                IndexName="ListIndex",
                KeyConditionExpression="LPK = :p",
                ExpressionAttributeValues=_av({":p": pending_partition(shard)}),
                Limit=limit - len(found),
            )
            found.extend(statement_from_item(_py(i)) for i in response.get("Items", []))
        return found

    def of_case(self, case_id: str) -> list[PendingStatement]:
        response = self._call(
            "query",
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :s)",
            ExpressionAttributeValues=_av({":pk": f"CASE#{case_id}", ":s": "STATEMENT#"}),
        )
        return [statement_from_item(_py(i)) for i in response.get("Items", [])]

    def mark_submitted(
        self, pending: PendingStatement, at: datetime, tdb_uuid: str | None, permalink: str | None
    ) -> bool:
        """Accepted by the database: its uuid and permalink kept, out of the pending index. False when it was
        already marked (an overlapping run)."""
        return self._settle(pending, *_submitted_update(at, tdb_uuid, permalink))

    def mark_all_submitted(self, accepted: list[tuple[PendingStatement, str | None, str | None]], at: datetime) -> int:
        """A whole accepted batch (<= 100) in one transaction; item by item if any was marked meanwhile.
        Returns how many this call marked."""
        if not accepted:
            return 0
        actions = []
        for pending, tdb_uuid, permalink in accepted:
            update, values = _submitted_update(at, tdb_uuid, permalink)
            actions.append({"Update": self._settle_kwargs(pending, update, values)})
        try:
            self._transact(actions)
        except TransactionRejected:
            return sum(self.mark_submitted(p, at, u, link) for p, u, link in accepted)
        return len(accepted)

    def mark_rejected(self, pending: PendingStatement, at: datetime, fields: list[str]) -> bool:
        values = {
            ":rejected": SubmissionStatus.REJECTED.value,
            ":at": it.iso(at),
            ":fields": sorted(set(fields)) or ["unknown"],
            ":one": 1,
        }
        return self._settle(
            pending,
            "SET #s = :rejected, rejected_at = :at, rejected_fields = :fields, attempts = attempts + :one "
            "REMOVE LPK, LSK",
            values,
        )

    def _settle_kwargs(self, pending: PendingStatement, update: str, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Key": _av(statement_key(pending.case_id, pending.seq)),
            "UpdateExpression": update,
            "ConditionExpression": "#s = :pending",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": _av({**values, ":pending": SubmissionStatus.PENDING.value}),
        }

    def _settle(self, pending: PendingStatement, update: str, values: dict[str, Any]) -> bool:
        try:
            self._call("update_item", **self._settle_kwargs(pending, update, values))
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _submitted_update(at: datetime, tdb_uuid: str | None, permalink: str | None) -> tuple[str, dict[str, Any]]:
    values: dict[str, Any] = {":submitted": SubmissionStatus.SUBMITTED.value, ":at": it.iso(at), ":one": 1}
    sets = "#s = :submitted, submitted_at = :at, attempts = attempts + :one"
    if tdb_uuid:
        sets += ", tdb_uuid = :uuid"
        values[":uuid"] = tdb_uuid
    if permalink:
        sets += ", permalink = :link"
        values[":link"] = permalink
    return f"SET {sets} REMOVE LPK, LSK", values
