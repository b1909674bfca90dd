"""Cases: the status item, its append-only events, the work queues, and the one version-guarded transaction
that moves a case."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from consent_guard.errors import NotFound, VersionConflict
from consent_guard.models import items as it
from consent_guard.models.domain import Case, CaseEvent, Report, Strike
from consent_guard.models.effects import Outbox
from consent_guard.repository.bank import BankChange, bank_actions
from consent_guard.repository.base import (
    TableAccess,
    TransactionRejected,
    _av,
    _code,
    _py,
    _raise_if_case_changed,
)
from consent_guard.repository.outbox import outbox_put

if TYPE_CHECKING:
    from consent_guard.models.tdb import PendingStatement


@dataclass(frozen=True)
class CaseChange:
    """One state change of a case: new status, the events it appends, and what moves with it atomically."""

    case: Case
    expected_version: int | None  # None: the case must not exist yet
    events: Sequence[CaseEvent]
    reports_evaluated: Sequence[tuple[str, datetime]] = ()  # (report_id, evaluated_at)
    strikes: Sequence[tuple[str, Strike]] = ()  # (account_id, strike)
    strikes_removed: Sequence[tuple[str, str]] = ()  # (account_id, case_id)
    outbox: Outbox | None = None  # what the change owes the world, stored with it (see repository/outbox.py)
    statements: Sequence[PendingStatement] = ()  # owed to the EU Transparency Database (repository/statements.py)
    bank: BankChange | None = None  # bank entries the decision writes or disables (repository/bank.py)
    new_reports: Sequence[tuple[Report, str, it.Item]] = ()  # (report, dedupe digest, response): made by the change
    # the case as read before the change (None: a new case, or not known): its decision's texts are written only
    # when they differ from what the stored texts item holds
    before: Case | None = None


def texts_action(table_name: str, change: CaseChange) -> dict[str, Any] | None:
    """The transaction action that stores the decision's texts, when the change's decision has new ones."""
    decision = change.case.decision
    if decision is None:
        return None
    stored = change.before.decision if change.before is not None else None
    if stored is not None and it.decision_texts(stored) == it.decision_texts(decision):
        return None
    if not decision.statement_of_reasons:
        # a case read without its texts (a queue page) must not write its decision back: the texts would be lost
        raise ValueError("a decision without its texts cannot be stored")
    return {"Put": {"TableName": table_name, "Item": _av(it.decision_texts_to_item(change.case))}}


def cases_of(items: Iterable[it.Item]) -> list[Case]:
    """The cases among items of a batch read, each status item with its decision's texts item."""
    statuses: dict[str, it.Item] = {}
    texts: dict[str, it.Item] = {}
    for item in items:
        if item.get("type") == "case":
            statuses[str(item["case_id"])] = item
        elif item.get("type") == "case_decision":
            texts[str(item["case_id"])] = item
    return [it.case_from_item(item, texts.get(case_id)) for case_id, item in statuses.items()]


class CasesRepository(TableAccess):
    def get_case(self, case_id: str, consistent: bool = True) -> Case:
        """The status item and its decision's texts (SK STATUS, STATUS#DECISION): one query."""
        response = self._call(
            "query",
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :status)",
            ExpressionAttributeValues=_av({":pk": f"CASE#{case_id}", ":status": "STATUS"}),
            ConsistentRead=consistent,
        )
        cases = cases_of(_py(i) for i in response.get("Items", []))
        if not cases:
            raise NotFound("case not found")
        return cases[0]

    def get_cases(self, case_ids: Iterable[str]) -> list[Case]:
        return cases_of(self._batch_get(k for c in case_ids for k in (it.case_key(c), it.decision_texts_key(c))))

    def case_events(self, case_id: str) -> list[CaseEvent]:
        """A case's history, in order."""
        return [event for stored in self.case_event_items(case_id) for event in stored]

    def case_event_items(self, case_id: str) -> list[list[CaseEvent]]:
        """A case's history as stored: the events of each item (one change's), in order."""
        stored: list[list[CaseEvent]] = []
        cursor: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "KeyConditionExpression": "PK = :pk AND begins_with(SK, :event)",
                "ExpressionAttributeValues": _av({":pk": f"CASE#{case_id}", ":event": "EVENT#"}),
                "ConsistentRead": True,
            }
            if cursor:
                kwargs["ExclusiveStartKey"] = cursor
            response = self._call("query", **kwargs)
            stored.extend(it.events_from_item(_py(i)) for i in response.get("Items", []))
            cursor = response.get("LastEvaluatedKey")
            if not cursor:
                return stored

    def save_case_change(self, change: CaseChange) -> None:
        """Status item, appended events, evaluated reports and strikes: all or nothing, guarded by the version.

        Raises VersionConflict (with the winner's state) when someone else changed the case first.
        """
        case_item = it.case_to_item(change.case)
        if change.expected_version is None:
            status_put: dict[str, Any] = {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _av(case_item),
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        else:
            status_put = {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _av(case_item),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": _av({":expected": change.expected_version}),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        actions: list[dict[str, Any]] = [status_put]
        if (texts := texts_action(self.table_name, change)) is not None:
            actions.append(texts)
        if change.outbox is not None and change.outbox.effects:
            actions.append(outbox_put(self.table_name, change.outbox, change.case.updated_at))
        if change.events:
            actions.append(events_put(self.table_name, change.events))
        for report_id, at in change.reports_evaluated:
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _av(it.report_key(report_id)),
                        "UpdateExpression": "SET #s = :evaluated, evaluated_at = :at REMOVE DPK, DSK",
                        "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": _av({":evaluated": "evaluated", ":at": it.iso(at)}),
                    }
                }
            )
        for account_id, strike in change.strikes:
            actions.append({"Put": {"TableName": self.table_name, "Item": _av(it.strike_to_item(account_id, strike))}})
        for account_id, case_id in change.strikes_removed:
            actions.append({"Delete": {"TableName": self.table_name, "Key": _av(it.strike_key(account_id, case_id))}})
        for report, dedupe_digest, response in change.new_reports:
            dedupe = {
                **it.dedupe_key(dedupe_digest),
                "type": "dedupe",
                "report_id": report.report_id,
                "response": json.dumps(response, sort_keys=True),
            }
            for item in (dedupe, it.report_to_item(report, None)):
                actions.append(
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": _av(item),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    }
                )
        if change.bank:
            actions += bank_actions(self.table_name, change.bank)
        if change.statements:
            from consent_guard.repository.statements import statement_put  # the module builds on this package

            actions += [statement_put(self.table_name, s) for s in change.statements]
        try:
            self._transact(actions)
        except TransactionRejected as rejected:
            _raise_if_case_changed(rejected)
            raise

    def queue(
        self, queue: str, limit: int, after: str | None, category: str | None = None
    ) -> tuple[list[Case], str | None]:
        """A page of a work queue (it.REVIEW_QUEUE or it.APPEALS_QUEUE) in its order - priority, then age - as a
        merge of its partitions' heads, from after the queue position `after` (a sort key; consent_guard.cursors
        checked it); optionally one category, filtered after the read. Returns the page and the position to go on
        from, None at the end.

        One query per partition, each bounded by `limit`: a partition that has more beyond what it returned caps the
        page at its last key read (the horizon), since any of its unread cases may sort before another partition's.
        So a page may hold fewer than `limit` cases and still have a next one, as with the category filter alone.
        """
        read: list[dict[str, Any]] = []
        horizons: list[str] = []
        for partition in it.queue_partitions(queue):
            condition, values = "LPK = :p", {":p": partition}
            if after is not None:
                condition, values = "LPK = :p AND LSK > :after", values | {":after": after}
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": "ListIndex",
                "KeyConditionExpression": condition,
                "Limit": limit,
            }
            if category is not None:
                kwargs["FilterExpression"] = "category = :c"
                values = values | {":c": category}
            kwargs["ExpressionAttributeValues"] = _av(values)
            response = self._call("query", **kwargs)
            read += [_py(i) for i in response.get("Items", [])]
            if response.get("LastEvaluatedKey"):
                horizons.append(str(response["LastEvaluatedKey"]["LSK"]["S"]))
        horizon = min(horizons) if horizons else None
        ready = sorted((i for i in read if horizon is None or str(i["LSK"]) <= horizon), key=lambda i: str(i["LSK"]))
        page = ready[:limit]
        if len(ready) > limit:
            position: str | None = str(page[-1]["LSK"])
        else:
            position = horizon  # everything up to the horizon is on this page; None: every partition is exhausted
        return [it.case_from_item(i) for i in page], position

    def queue_counts(self, queue: str, at: datetime) -> dict[str, dict[str, int]]:
        """Every case in a work queue counted by category: how many, and how many past their review deadline."""
        now = it.iso(at)
        counts: dict[str, dict[str, int]] = {}
        for partition in it.queue_partitions(queue):
            for item in self._query_all(
                IndexName="ListIndex",
                KeyConditionExpression="LPK = :p",
                ProjectionExpression="category, review_due_at",
                ExpressionAttributeValues=_av({":p": partition}),
            ):
                entry = counts.setdefault(str(item.get("category", "")), {"cases": 0, "overdue": 0})
                entry["cases"] += 1
                due = item.get("review_due_at")
                if due and str(due) < now:
                    entry["overdue"] += 1
        return counts

    def report_counts(self, case_ids: Iterable[str]) -> dict[str, int]:
        """How many reports each case has received (its sharded counters summed; 0 for none)."""
        ids = list(dict.fromkeys(case_ids))
        counts = dict.fromkeys(ids, 0)
        keys = [it.report_count_key(c, shard) for c in ids for shard in range(it.CASE_REPORT_SHARDS)]
        for item in self._batch_get(keys):
            case_id = str(item["PK"]).removeprefix("CASE#")
            counts[case_id] = counts.get(case_id, 0) + int(item.get("reports", 0))
        return counts

    def set_case_timer(self, case: Case, expected_dsk: str) -> bool:
        """Rewrite only the case's timer attributes, as `case_to_item` derives them from `case`, if the case is
        still at `case.version` and its DueIndex key is still `expected_dsk`. False when either has moved."""
        item = it.case_to_item(case)
        names = {"due_kind": "#k", "due_at": "#a", "DPK": "#p", "DSK": "#s"}
        sets = [f"{alias} = :{name}" for name, alias in names.items() if name in item]
        removes = [alias for name, alias in names.items() if name not in item]
        update = ("SET " + ", ".join(sets) if sets else "") + (" REMOVE " + ", ".join(removes) if removes else "")
        values = {f":{name}": item[name] for name in names if name in item}
        values |= {":version": case.version, ":expected": expected_dsk}
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_av(it.case_key(case.case_id)),
                UpdateExpression=update.strip(),
                ConditionExpression="version = :version AND #s = :expected",
                ExpressionAttributeNames={alias: name for name, alias in names.items()},
                ExpressionAttributeValues=_av(values),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def redact_events(self, stored: Sequence[CaseEvent], redacted: Sequence[CaseEvent]) -> None:
        """Rewrite one stored item's events (retention: who appealed, free-text notes): `stored` is an entry of
        case_event_items as read, `redacted` the same events with actors and data redacted. The write is
        conditional on the item still holding exactly what was read, so it never drops, adds or reverts an event;
        VersionConflict when it does not (the erasure is retried by its lease)."""
        if [(e.case_id, e.seq, e.type) for e in stored] != [(e.case_id, e.seq, e.type) for e in redacted]:
            raise ValueError("a redaction rewrites the events it read, no other")
        before, after = it.events_to_item(stored), it.events_to_item(redacted)
        values = {
            ":actor": after["actor"],
            ":data": after["data"],
            ":read_actor": before["actor"],
            ":read_data": before["data"],
        }
        update = "SET actor = :actor, #d = :data"
        condition = "actor = :read_actor AND #d = :read_data"
        if "more" in before:
            update += ", more = :more"
            condition += " AND more = :read_more"
            values |= {":more": after["more"], ":read_more": before["more"]}
        else:
            condition += " AND attribute_not_exists(more)"
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_av(it.event_key(stored[0].case_id, stored[0].seq)),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#d": "data"},
                ExpressionAttributeValues=_av(values),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict("the case's events changed since they were read") from None
            raise


def events_put(table_name: str, events: Sequence[CaseEvent]) -> dict[str, Any]:
    """The transaction action appending a change's events: one item (models/items.py, events_to_item)."""
    return {
        "Put": {
            "TableName": table_name,
            "Item": _av(it.events_to_item(events)),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }
