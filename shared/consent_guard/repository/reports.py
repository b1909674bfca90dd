"""Reports: the report item with its dedupe, Idempotency-Key and quota markers; a case's reports; erasure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from consent_guard.errors import DomainError, Forbidden, NotFound
from consent_guard.ids import shard_of
from consent_guard.models import items as it
from consent_guard.models.domain import Report
from consent_guard.models.effects import Outbox
from consent_guard.repository.base import (
    InvalidCursor,
    TableAccess,
    TransactionRejected,
    _av,
    _code,
    _decode_cursor,
    _encode_cursor,
    _py,
)
from consent_guard.repository.outbox import embedded_outbox


class DuplicateReport(DomainError):
    """The same reporter already reported this post for this category (or reused an Idempotency-Key)."""

    code = "duplicate_report"

    def __init__(self, original: it.Item) -> None:
        super().__init__("duplicate report")
        self.original = original


class IdempotencyMismatch(DomainError):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class IdempotencyClaim:
    key_digest: str  # hash of (reporter, Idempotency-Key): the key itself is never stored
    request_digest: str  # hash of the request body: a reused key with another body is rejected


@dataclass(frozen=True)
class ReporterLimits:
    """Checked inside the report's own transaction, so they cost no extra call."""

    reporter_id: str
    window_index: int  # fixed quota window: floor(epoch / window_seconds)
    max_reports: int
    quota_expires_at: int  # epoch: TTL cleans old counters (a counter is only ever read in its own window)
    now_iso: str


@dataclass(frozen=True)
class PriorityHintClaim:
    """One of a reporter's priority hints (live location), counted in the report's own transaction."""

    reporter_id: str
    window_index: int
    max_cases: int
    expires_at: int  # epoch: TTL


class PriorityHintsExhausted(DomainError):
    """The reporter's bound of priority hints is reached: store the report again without the hint honoured."""

    code = "priority_hints_exhausted"


class ReportingSuspended(Forbidden):
    code = "reporting_suspended"


class QuotaExceeded(DomainError):
    code = "too_many_requests"


IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600


class ReportsRepository(TableAccess):
    def create_report(
        self,
        report: Report,
        dedupe_digest: str,
        response: it.Item,
        stuck_due_at: datetime,
        idempotency: IdempotencyClaim | None = None,
        limits: ReporterLimits | None = None,
        priority_hint: PriorityHintClaim | None = None,
    ) -> None:
        """Store a report with its dedupe marker (and Idempotency-Key marker) atomically.

        Raises DuplicateReport with the original response, or IdempotencyMismatch for a reused key with another body.
        """
        dedupe = {
            **it.dedupe_key(dedupe_digest),
            "type": "dedupe",
            "report_id": report.report_id,
            "response": json.dumps(response, sort_keys=True),
        }
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _av(dedupe),
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _av(it.report_to_item(report, stuck_due_at)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            },
        ]
        if idempotency is not None:
            actions.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": _av(
                            {
                                **it.idempotency_key(idempotency.key_digest),
                                "type": "idempotency",
                                "request_digest": idempotency.request_digest,
                                # the key only guards retries: it expires (the dedupe marker still catches repeats)
                                "expires_at": int(report.submitted_at.timestamp()) + IDEMPOTENCY_TTL_SECONDS,
                                "response": json.dumps(response, sort_keys=True),
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        limit_at = len(actions)
        if limits is not None:
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _av({"PK": f"QUOTA#{limits.reporter_id}#{limits.window_index}", "SK": "QUOTA"}),
                        "UpdateExpression": "SET #c = if_not_exists(#c, :zero) + :one, expires_at = :exp, #t = :type",
                        "ConditionExpression": "attribute_not_exists(#c) OR #c < :max",
                        "ExpressionAttributeNames": {"#c": "reports", "#t": "type"},
                        "ExpressionAttributeValues": _av(
                            {
                                ":zero": 0,
                                ":one": 1,
                                ":max": limits.max_reports,
                                ":exp": limits.quota_expires_at,
                                ":type": "quota",
                            }
                        ),
                    }
                }
            )
            actions.append(
                {
                    "ConditionCheck": {
                        "TableName": self.table_name,
                        "Key": _av(it.standing_key(limits.reporter_id)),
                        "ConditionExpression": "attribute_not_exists(suspended_until) OR suspended_until < :now",
                        "ExpressionAttributeValues": _av({":now": limits.now_iso}),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        # the case's report count, sharded like its report items so a storm spreads over several counters
        actions.append(
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _av(it.report_count_key(report.case_id, shard_of(report.report_id, it.CASE_REPORT_SHARDS))),
                    "UpdateExpression": "ADD #n :one SET #t = :type",
                    "ExpressionAttributeNames": {"#n": "reports", "#t": "type"},
                    "ExpressionAttributeValues": _av({":one": 1, ":type": "report_count"}),
                }
            }
        )
        hint_at = len(actions)
        if priority_hint is not None:
            actions.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": _av(
                            {"PK": f"HINTS#{priority_hint.reporter_id}#{priority_hint.window_index}", "SK": "HINTS"}
                        ),
                        "UpdateExpression": "SET #c = if_not_exists(#c, :zero) + :one, expires_at = :exp, #t = :type",
                        "ConditionExpression": "attribute_not_exists(#c) OR #c < :max",
                        "ExpressionAttributeNames": {"#c": "hints", "#t": "type"},
                        "ExpressionAttributeValues": _av(
                            {
                                ":zero": 0,
                                ":one": 1,
                                ":max": priority_hint.max_cases,
                                ":exp": priority_hint.expires_at,
                                ":type": "priority_hints",
                            }
                        ),
                    }
                }
            )
        try:
            self._transact(actions)
        except TransactionRejected as rejected:
            if (
                priority_hint is not None
                and rejected.codes[hint_at] == "ConditionalCheckFailed"
                and not any(c == "ConditionalCheckFailed" for c in rejected.codes[:hint_at])
            ):
                raise PriorityHintsExhausted("the reporter's priority hints are used up") from None
            if idempotency is not None and rejected.codes[2] == "ConditionalCheckFailed":
                old = _py(rejected.items[2] or {})
                if old.get("request_digest") != idempotency.request_digest:
                    raise IdempotencyMismatch("this Idempotency-Key was used with a different request") from None
                raise DuplicateReport(json.loads(old["response"])) from None
            if rejected.codes[0] == "ConditionalCheckFailed":
                raise DuplicateReport(json.loads(_py(rejected.items[0] or {})["response"])) from None
            if limits is not None and rejected.codes[limit_at + 1] == "ConditionalCheckFailed":
                standing = _py(rejected.items[limit_at + 1] or {})
                raise ReportingSuspended(
                    "reporting is suspended after repeated manifestly unfounded reports",
                    suspended_until=standing.get("suspended_until"),
                ) from None
            if limits is not None and rejected.codes[limit_at] == "ConditionalCheckFailed":
                raise QuotaExceeded("too many reports in this period") from None
            raise

    def get_report(self, report_id: str, consistent: bool = False) -> Report:
        item = self._get(it.report_key(report_id), consistent)
        if item is None:
            raise NotFound("report not found")
        return it.report_from_item(item)

    def mark_report_evaluated(self, report_id: str, evaluated_at: datetime, outbox: Outbox | None = None) -> bool:
        """Fold a report into its case without touching the case item; its stuck-work timer goes. What the report
        is owed (`outbox`, id `report:<report_id>`) is stored on the report item in the same write, with the
        outbox's timer. False when the report was folded already."""
        values: dict[str, Any] = {":evaluated": "evaluated", ":at": it.iso(evaluated_at)}
        update = "SET #s = :evaluated, evaluated_at = :at"
        if outbox is not None and outbox.effects:
            attributes = embedded_outbox(outbox, evaluated_at)
            update += "".join(f", {name} = :{name}" for name in attributes)
            values |= {f":{name}": value for name, value in attributes.items()}
        else:
            update += " REMOVE DPK, DSK"
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_av(it.report_key(report_id)),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(PK) AND #s <> :evaluated",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=_av(values),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _report_shard_query(
        self, case_id: str, shard: int, limit: int, after: str | None = None, start: dict[str, Any] | None = None
    ) -> tuple[list[it.Item], dict[str, Any] | None]:
        condition = "LPK = :p"
        values: dict[str, Any] = {":p": it.case_reports_partition(case_id, shard)}
        if after is not None:
            condition += " AND LSK > :after"
            values[":after"] = after
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "ListIndex",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _av(values),
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        response = self._call("query", **kwargs)
        return [_py(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey")

    def case_reports_step(
        self, case_id: str, cursor: dict[str, Any] | None, limit: int
    ) -> tuple[list[Report], dict[str, Any] | None]:
        """At most `limit` reports of a case, shard after shard, and where the next step starts (None: done).
        For fan-outs: each step's memory and time are bounded by `limit`, whatever the number of reports."""
        shard = int(cursor["shard"]) if cursor else 0
        start: dict[str, Any] | None = cursor.get("key") if cursor else None
        found: list[Report] = []
        while shard < it.CASE_REPORT_SHARDS and len(found) < limit:
            items, start = self._report_shard_query(case_id, shard, limit - len(found), start=start)
            found.extend(it.report_from_item(i) for i in items)
            if not start:
                shard += 1
        if shard >= it.CASE_REPORT_SHARDS:
            return found, None
        return found, {"shard": shard, "key": start}

    def case_reports_page(self, case_id: str, limit: int, cursor: str | None) -> tuple[list[Report], str | None]:
        """One page of a case's reports, oldest first (a merge of the shards' heads), and an opaque cursor for the
        next page (None: the last). The cursor is bound to the case: another case's cursor is InvalidCursor."""
        after: dict[int, str | None] = dict.fromkeys(range(it.CASE_REPORT_SHARDS))
        done: set[int] = set()
        state = _decode_cursor(cursor)
        if state is not None:
            positions = state.get("a")
            finished = state.get("d")
            if (
                state.get("c") != case_id
                or not isinstance(positions, dict)
                or not isinstance(finished, list)
                or not all(isinstance(v, str) and len(v) < 200 for v in positions.values())
                or not all(isinstance(d, int) for d in finished)
            ):
                raise InvalidCursor("the cursor is not valid")
            try:
                for key, value in positions.items():
                    shard = int(key)
                    if shard not in after:
                        raise ValueError(key)
                    after[shard] = value
            except ValueError:
                raise InvalidCursor("the cursor is not valid") from None
            done = {d for d in finished if d in after}
        heads: list[tuple[str, int, it.Item]] = []
        exhausted: set[int] = set(done)
        for shard in range(it.CASE_REPORT_SHARDS):
            if shard in done:
                continue
            items, more = self._report_shard_query(case_id, shard, limit, after=after[shard])
            heads += [(str(i["LSK"]), shard, i) for i in items]
            if not more:
                exhausted.add(shard)
        heads.sort(key=lambda h: h[0])
        taken, rest = heads[:limit], heads[limit:]
        for lsk, shard, _ in taken:
            after[shard] = lsk
        exhausted -= {shard for _, shard, _ in rest}  # a shard with reports left over is not done
        reports = [it.report_from_item(i) for _, _, i in taken]
        if len(exhausted) == it.CASE_REPORT_SHARDS:
            return reports, None
        return reports, _encode_cursor(
            {"c": case_id, "a": {str(k): v for k, v in after.items() if v is not None}, "d": sorted(exhausted)}
        )

    def amend_report(self, report: Report, stuck_due_at: datetime) -> None:
        """Take in what a reporter added to their report (a relationship, confirmations): the report is received
        again, with its stuck-work timer, so the evaluation sees it. Refused once its personal data is erased."""
        item = it.report_to_item(report, stuck_due_at)
        names = {"relationship": "#r", "attestations": "#a", "status": "#s", "DPK": "#dp", "DSK": "#ds"}
        sets = [f"{alias} = :{name}" for name, alias in names.items()]
        values = {f":{name}": item[name] for name in names}
        update = "SET " + ", ".join(sets)
        if report.represented_account_id:
            update += ", represented_account_id = :represented"
            values[":represented"] = report.represented_account_id
        else:
            update += " REMOVE represented_account_id"
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_av(it.report_key(report.report_id)),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(erased_at)",
                ExpressionAttributeNames={alias: name for name, alias in names.items()},
                ExpressionAttributeValues=_av(values),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise NotFound("report not found") from None
            raise

    def case_reports(self, case_id: str) -> list[Report]:
        """Every report of a case, oldest first, gathered from the case's ListIndex shards."""
        found = [
            it.report_from_item(item)
            for shard in range(it.CASE_REPORT_SHARDS)
            for item in self._query_all(
                IndexName="ListIndex",
                KeyConditionExpression="LPK = :p",
                ExpressionAttributeValues=_av({":p": it.case_reports_partition(case_id, shard)}),
            )
        ]
        return sorted(found, key=lambda r: (r.submitted_at, r.report_id))

    def reported_by(self, dedupe_digest: str) -> str | None:
        """The report id of a reporter's report on (post, category), found by its dedupe marker."""
        item = self._get(it.dedupe_key(dedupe_digest), consistent=True)
        return str(item["report_id"]) if item else None

    def erase_report(self, report: Report, dedupe_digest: str, at: datetime, erased: str) -> bool:
        """Erase a report's personal data; False when it already was. Idempotent, and safe to repeat after a
        crash between its two writes: the dedupe marker (a guessable hash of reporter, post and category) goes
        first, while its digest can still be computed from the reporter id."""
        try:
            self._call(
                "delete_item",
                TableName=self.table_name,
                Key=_av(it.dedupe_key(dedupe_digest)),
                ConditionExpression="report_id = :r",
                ExpressionAttributeValues=_av({":r": report.report_id}),
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
        try:
            self._call(
                "update_item",
                TableName=self.table_name,
                Key=_av(it.report_key(report.report_id)),
                UpdateExpression="SET description = :empty, reporter_id = :erased, erased_at = :at"
                " REMOVE represented_account_id",
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(erased_at)",
                ExpressionAttributeValues=_av({":empty": "", ":erased": erased, ":at": it.iso(at)}),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True
