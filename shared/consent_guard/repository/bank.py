"""Storage of the hash banks (DynamoDB is the source of truth; no Scan anywhere).

Items, all in the one table:
  BANKENTRY#<id> / ENTRY          the entry: bank, status, signals, origin; nothing personal
                                  BankIndex (BPK PDQ#<shard>, BSK <id>): active entries with a usable PDQ hash, the
                                  set the index snapshot is rebuilt from (sparse: removed when the entry is disabled)
                                  ListIndex (LPK PDQDELTA#<hour>, LSK <created>#<id>): the delta a matcher queries
                                  for entries newer than its snapshot
  BANKENTRY#<id> / OWNER          protected entries only: who registered it (ListIndex PROTECTED#<owner>: their list)
  BANKENTRY#<id> / EVENT#<seq>    what happened to the entry (disabled, cleared), by whom and why
  BANKHASH#<signal>#<hex> / ENTRY#<id>   the exact tiers: one Query on the hash's partition finds every entry
  PROTECTED#<owner> / COUNT       active protected entries of a person (their limit), PROTECTEDRATE#... per window

Bank entries written with a case decision are transaction actions of that decision (bank_actions); the rest go
through BankRepository, which borrows the CaseRepository's client and error mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from consent_guard.errors import DomainError, NotFound
from consent_guard.ids import shard_of
from consent_guard.models.domain import BankEntry, EntryStatus, MediaSignals
from consent_guard.models.items import Item, iso, parse_time
from consent_guard.repository.base import _av, _py

if TYPE_CHECKING:
    from consent_guard.repository import CaseRepository

PDQ_SHARDS = 16  # BankIndex partitions: the index rebuild reads them in parallel
EXACT_SIGNALS = ("md5", "sha256")

# ---------------------------------------------------------------- keys and items


def entry_key(entry_id: str) -> Item:
    return {"PK": f"BANKENTRY#{entry_id}", "SK": "ENTRY"}


def owner_key(entry_id: str) -> Item:
    return {"PK": f"BANKENTRY#{entry_id}", "SK": "OWNER"}


def hash_key(signal: str, value: str, entry_id: str) -> Item:
    return {"PK": f"BANKHASH#{signal}#{value}", "SK": f"ENTRY#{entry_id}"}


def count_key(owner_id: str) -> Item:
    return {"PK": f"PROTECTED#{owner_id}", "SK": "COUNT"}


def delta_partition(at: datetime) -> str:
    return f"PDQDELTA#{iso(at)[:13]}"  # one partition per hour


def protected_partition(owner_id: str) -> str:
    return f"PROTECTED#{owner_id}"


def pdq_usable(signals: MediaSignals, min_quality: int) -> bool:
    return bool(signals.pdq) and signals.pdq_quality is not None and signals.pdq_quality >= min_quality


def entry_to_item(entry: BankEntry, min_quality: int) -> Item:
    item: Item = {
        **entry_key(entry.entry_id),
        "type": "bank_entry",
        "entry_id": entry.entry_id,
        "bank": entry.bank.value,
        "status": entry.status.value,
        "category": entry.category.value,
        "media_type": entry.media_type.value,
        "md5": entry.signals.md5,
        "sha256": entry.signals.sha256,
        "pdq": entry.signals.pdq,
        "pdq_quality": entry.signals.pdq_quality,
        "origin": entry.origin,
        "origin_case_id": entry.origin_case_id,
        "origin_decided_at": iso(entry.origin_decided_at) if entry.origin_decided_at else None,
        "origin_rule_ids": json.dumps(list(entry.origin_rule_ids)),
        "origin_entry_id": entry.origin_entry_id,
        "created_at": iso(entry.created_at),
        "updated_at": iso(entry.updated_at),
        "disabled_reason": entry.disabled_reason,
        "version": entry.version,
    }
    if entry.status is EntryStatus.ACTIVE and pdq_usable(entry.signals, min_quality):
        item["BPK"] = f"PDQ#{shard_of(entry.entry_id, PDQ_SHARDS):02d}"
        item["BSK"] = entry.entry_id
        item["LPK"] = delta_partition(entry.created_at)
        item["LSK"] = f"{iso(entry.created_at)}#{entry.entry_id}"
    return item


def entry_from_item(item: Item) -> BankEntry:
    return BankEntry(
        entry_id=item["entry_id"],
        bank=item["bank"],
        status=item["status"],
        category=item["category"],
        media_type=item["media_type"],
        signals=MediaSignals(
            md5=item.get("md5"),
            sha256=item.get("sha256"),
            pdq=item.get("pdq"),
            pdq_quality=int(item["pdq_quality"]) if item.get("pdq_quality") is not None else None,
        ),
        origin=item["origin"],
        origin_case_id=item.get("origin_case_id"),
        origin_decided_at=parse_time(item["origin_decided_at"]) if item.get("origin_decided_at") else None,
        origin_rule_ids=tuple(json.loads(item.get("origin_rule_ids", "[]"))),
        origin_entry_id=item.get("origin_entry_id"),
        created_at=parse_time(item["created_at"]),
        updated_at=parse_time(item["updated_at"]),
        disabled_reason=item.get("disabled_reason"),
        version=int(item.get("version", 1)),
    )


def _hash_items(entry: BankEntry) -> list[Item]:
    return [
        {**hash_key(signal, value, entry.entry_id), "type": "bank_hash", "entry_id": entry.entry_id}
        for signal in EXACT_SIGNALS
        if (value := getattr(entry.signals, signal))
    ]


@dataclass(frozen=True)
class BankChange:
    """What a case decision does to the banks, committed in the decision's own transaction."""

    new_entries: Sequence[BankEntry] = ()
    disable: Sequence[str] = ()  # entry ids: status disabled, out of the index and the delta
    reason: str = ""  # why they are disabled (e.g. appeal_overturned)
    at: datetime | None = None
    min_quality: int = 50

    def __bool__(self) -> bool:
        return bool(self.new_entries or self.disable)


def bank_actions(table_name: str, change: BankChange) -> list[dict[str, Any]]:
    """TransactWriteItems actions for a BankChange."""
    actions: list[dict[str, Any]] = []
    for entry in change.new_entries:
        actions.append(
            {
                "Put": {
                    "TableName": table_name,
                    "Item": _av(entry_to_item(entry, change.min_quality)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        )
        actions += [{"Put": {"TableName": table_name, "Item": _av(item)}} for item in _hash_items(entry)]
    for entry_id in change.disable:
        actions.append(
            {
                "Update": {
                    "TableName": table_name,
                    "Key": _av(entry_key(entry_id)),
                    "UpdateExpression": "SET #s = :disabled, updated_at = :at, disabled_reason = :why,"
                    " version = version + :one REMOVE BPK, BSK, LPK, LSK",
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": _av(
                        {
                            ":disabled": EntryStatus.DISABLED.value,
                            ":at": iso(change.at) if change.at else None,
                            ":why": change.reason,
                            ":one": 1,
                        }
                    ),
                }
            }
        )
    return actions


class ProtectedLimit(DomainError):
    """A person reached the policy's limit of protected media (in total or per window)."""

    code = "too_many_requests"


@dataclass
class Candidates:
    """Entry ids a lookup found, with the signal and distance of each (the closest per entry)."""

    found: dict[str, tuple[str, int]] = field(default_factory=dict)

    def add(self, entry_id: str, signal: str, distance: int) -> None:
        current = self.found.get(entry_id)
        if current is None or distance < current[1]:
            self.found[entry_id] = (signal, distance)


class BankRepository:
    """Bank reads and writes outside case decisions. Borrows the CaseRepository's client and error mapping."""

    def __init__(self, cases: CaseRepository) -> None:
        self.cases = cases

    @property
    def table_name(self) -> str:
        return self.cases.table_name

    # ------------------------------------------------------------ reads

    def get_entry(self, entry_id: str) -> BankEntry:
        item = self.cases._get(entry_key(entry_id), consistent=True)
        if item is None:
            raise NotFound("bank entry not found")
        return entry_from_item(item)

    def entries(self, entry_ids: Iterable[str]) -> dict[str, BankEntry]:
        """Entries as stored right now (strongly consistent): what an automatic action re-reads before acting."""
        keys = [entry_key(e) for e in dict.fromkeys(entry_ids)]
        if not keys:
            return {}
        return {entry.entry_id: entry for entry in (entry_from_item(i) for i in self.cases._batch_get(keys) if i)}

    def owners(self, entry_ids: Iterable[str]) -> dict[str, str]:
        """entry id -> the person who protected it (protected entries only)."""
        keys = [owner_key(e) for e in dict.fromkeys(entry_ids)]
        if not keys:
            return {}
        return {str(i["entry_id"]): str(i["owner_id"]) for i in self.cases._batch_get(keys) if i.get("owner_id")}

    def exact_matches(self, signals: MediaSignals) -> Candidates:
        """One Query per exact signal given (the hash's own partition)."""
        found = Candidates()
        for signal in EXACT_SIGNALS:
            value = getattr(signals, signal)
            if not value:
                continue
            response = self.cases._call(
                "query",
                TableName=self.table_name,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues=_av({":pk": f"BANKHASH#{signal}#{value}"}),
                ProjectionExpression="entry_id",
            )
            for item in response.get("Items", []):
                found.add(str(_py(item)["entry_id"]), signal, 0)
        return found

    def pdq_shard(self, shard: int) -> Iterable[tuple[str, str]]:
        """(entry id, pdq hex) of one BankIndex shard: what the index snapshot is rebuilt from."""
        cursor: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": "BankIndex",
                "KeyConditionExpression": "BPK = :p",
                "ExpressionAttributeValues": _av({":p": f"PDQ#{shard:02d}"}),
            }
            if cursor:
                kwargs["ExclusiveStartKey"] = cursor
            response = self.cases._call("query", **kwargs)
            for raw in response.get("Items", []):
                item = _py(raw)
                yield str(item["BSK"]), str(item["pdq"])
            cursor = response.get("LastEvaluatedKey")
            if not cursor:
                return

    def pdq_delta(self, since: datetime, now: datetime) -> list[tuple[str, str]]:
        """(entry id, pdq hex) of entries created after `since`, from the hourly delta partitions up to `now`."""
        out: list[tuple[str, str]] = []
        hour = since.replace(minute=0, second=0, microsecond=0)
        while hour <= now:
            cursor: dict[str, Any] | None = None
            while True:
                kwargs: dict[str, Any] = {
                    "TableName": self.table_name,
                    "IndexName": "ListIndex",
                    "KeyConditionExpression": "LPK = :p AND LSK > :since",
                    "ExpressionAttributeValues": _av({":p": delta_partition(hour), ":since": iso(since)}),
                    "ProjectionExpression": "entry_id, pdq",
                }
                if cursor:
                    kwargs["ExclusiveStartKey"] = cursor
                response = self.cases._call("query", **kwargs)
                out += [(str(i["entry_id"]), str(i["pdq"])) for i in map(_py, response.get("Items", []))]
                cursor = response.get("LastEvaluatedKey")
                if not cursor:
                    break
            hour = hour.fromtimestamp(hour.timestamp() + 3600, hour.tzinfo)
        return out

    def protected_of(self, owner_id: str, limit: int = 100) -> list[Item]:
        response = self.cases._call(
            "query",
            TableName=self.table_name,
            IndexName="ListIndex",
            KeyConditionExpression="LPK = :p",
            ExpressionAttributeValues=_av({":p": protected_partition(owner_id)}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_py(i) for i in response.get("Items", [])]

    def owner_of(self, entry_id: str) -> str | None:
        item = self.cases._get(owner_key(entry_id), consistent=True)
        return str(item["owner_id"]) if item else None

    # ------------------------------------------------------------ protected media

    def register_protected(
        self, entry: BankEntry, owner_id: str, max_total: int, window: tuple[int, int, int], min_quality: int
    ) -> None:
        """The entry, its exact-hash items, the owner item and both limits, in one transaction.

        `window` is (window index, max registrations in it, expiry epoch of its counter). Raises ProtectedLimit.
        """
        from consent_guard.repository import TransactionRejected

        window_index, window_max, window_expires = window
        owner_item = {
            **owner_key(entry.entry_id),
            "type": "protected_owner",
            "entry_id": entry.entry_id,
            "owner_id": owner_id,
            "category": entry.category.value,
            "media_type": entry.media_type.value,
            "signals": json.dumps(list(entry.signals.present())),
            "created_at": iso(entry.created_at),
            "LPK": protected_partition(owner_id),
            "LSK": f"{iso(entry.created_at)}#{entry.entry_id}",
        }
        actions = bank_actions(self.table_name, BankChange(new_entries=[entry], min_quality=min_quality))
        actions += [
            {"Put": {"TableName": self.table_name, "Item": _av(owner_item)}},
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _av(count_key(owner_id)),
                    "UpdateExpression": "SET #c = if_not_exists(#c, :zero) + :one, #t = :type",
                    "ConditionExpression": "attribute_not_exists(#c) OR #c < :max",
                    "ExpressionAttributeNames": {"#c": "active", "#t": "type"},
                    "ExpressionAttributeValues": _av(
                        {":zero": 0, ":one": 1, ":max": max_total, ":type": "protected_count"}
                    ),
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _av({"PK": f"PROTECTEDRATE#{owner_id}#{window_index}", "SK": "RATE"}),
                    "UpdateExpression": "SET #c = if_not_exists(#c, :zero) + :one, expires_at = :exp, #t = :type",
                    "ConditionExpression": "attribute_not_exists(#c) OR #c < :max",
                    "ExpressionAttributeNames": {"#c": "registrations", "#t": "type"},
                    "ExpressionAttributeValues": _av(
                        {":zero": 0, ":one": 1, ":max": window_max, ":exp": window_expires, ":type": "protected_rate"}
                    ),
                }
            },
        ]
        try:
            self.cases._transact(actions)
        except TransactionRejected as rejected:
            if rejected.codes[-2] == "ConditionalCheckFailed":
                raise ProtectedLimit(f"at most {max_total} protected photos or videos at a time", total=True) from None
            if rejected.codes[-1] == "ConditionalCheckFailed":
                raise ProtectedLimit(f"at most {window_max} registrations in this period") from None
            raise

    def withdraw_protected(self, entry_id: str, owner_id: str) -> None:
        """Hard delete: the entry, its hashes, its owner item and its events, in one transaction. NotFound for an
        entry that is not this person's (or no longer exists): what can't be seen can't be probed."""
        from consent_guard.repository import TransactionRejected

        owner = self.cases._get(owner_key(entry_id), consistent=True)
        entry_item = self.cases._get(entry_key(entry_id), consistent=True)
        if owner is None or owner.get("owner_id") != owner_id or entry_item is None:
            raise NotFound("protected media not found")
        entry = entry_from_item(entry_item)
        response = self.cases._call(
            "query",
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :e)",
            ExpressionAttributeValues=_av({":pk": f"BANKENTRY#{entry_id}", ":e": "EVENT#"}),
            ProjectionExpression="PK, SK",
            ConsistentRead=True,
        )
        keys = [entry_key(entry_id), *(_py(i) for i in response.get("Items", []))]
        keys += [{"PK": h["PK"], "SK": h["SK"]} for h in _hash_items(entry)]
        actions: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": _av(owner_key(entry_id)),
                    "ConditionExpression": "owner_id = :o",
                    "ExpressionAttributeValues": _av({":o": owner_id}),
                }
            },
            *({"Delete": {"TableName": self.table_name, "Key": _av(k)}} for k in keys),
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _av(count_key(owner_id)),
                    "UpdateExpression": "SET #c = #c - :one",
                    "ConditionExpression": "#c > :zero",
                    "ExpressionAttributeNames": {"#c": "active"},
                    "ExpressionAttributeValues": _av({":one": 1, ":zero": 0}),
                }
            },
        ]
        try:
            self.cases._transact(actions)
        except TransactionRejected as rejected:
            if rejected.codes[0] == "ConditionalCheckFailed":
                raise NotFound("protected media not found") from None
            raise

    # ------------------------------------------------------------ admins

    def set_entry_status(
        self,
        entry: BankEntry,
        actor: str,
        action: str,
        reason: str,
        at: datetime,
        cleared: BankEntry | None,
        min_quality: int,
    ) -> None:
        """Disable an entry (and for `clear`, bank its signals as cleared) with an event, guarded by its version."""
        from consent_guard.errors import VersionConflict
        from consent_guard.repository import TransactionRejected

        seq = entry.version + 1
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _av(entry_key(entry.entry_id)),
                    "UpdateExpression": "SET #s = :disabled, updated_at = :at, disabled_reason = :why,"
                    " version = :next REMOVE BPK, BSK, LPK, LSK",
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": _av(
                        {
                            ":disabled": EntryStatus.DISABLED.value,
                            ":at": iso(at),
                            ":why": action,
                            ":next": seq,
                            ":v": entry.version,
                        }
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _av(
                        {
                            "PK": f"BANKENTRY#{entry.entry_id}",
                            "SK": f"EVENT#{seq:08d}",
                            "type": "bank_event",
                            "action": action,
                            "actor": actor,
                            "reason": reason,  # staff only: never logged or notified
                            "at": iso(at),
                            "cleared_entry_id": cleared.entry_id if cleared else None,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        if cleared is not None:
            actions += bank_actions(self.table_name, BankChange(new_entries=[cleared], min_quality=min_quality))
        try:
            self.cases._transact(actions)
        except TransactionRejected as rejected:
            if rejected.codes[0] == "ConditionalCheckFailed":
                raise VersionConflict("the bank entry changed concurrently") from None
            raise

    def entry_events(self, entry_id: str) -> list[Item]:
        response = self.cases._call(
            "query",
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :e)",
            ExpressionAttributeValues=_av({":pk": f"BANKENTRY#{entry_id}", ":e": "EVENT#"}),
            ConsistentRead=True,
        )
        return [_py(i) for i in response.get("Items", [])]
