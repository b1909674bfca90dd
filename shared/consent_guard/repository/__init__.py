"""The only module that talks to DynamoDB. Maps ClientError codes to domain exceptions; every write that
matters is conditional or transactional."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from consent_guard.errors import DomainError, Forbidden, NotFound, StorageUnavailable, VersionConflict
from consent_guard.models import items as it
from consent_guard.models.domain import (
    AccountContext,
    AccountFacts,
    Case,
    CaseEvent,
    MediaFacts,
    Notification,
    PostContext,
    Report,
    Strike,
)
from consent_guard.repository.bank import BankChange, bank_actions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Bounded, explicit retries: botocore's default mode is still "legacy" (10 attempts for DynamoDB).
SDK_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)

_RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)

IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@cache
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=SDK_CONFIG)


def _av(item: it.Item) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def _py(item: dict[str, Any]) -> it.Item:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


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


class ReportingSuspended(Forbidden):
    code = "reporting_suspended"


class QuotaExceeded(DomainError):
    code = "too_many_requests"


@dataclass(frozen=True)
class CaseChange:
    """One state change of a case: new status, the events it appends, and what moves with it atomically."""

    case: Case
    expected_version: int | None  # None: the case must not exist yet
    events: Sequence[CaseEvent]
    reports_evaluated: Sequence[tuple[str, datetime]] = ()  # (report_id, evaluated_at)
    strikes: Sequence[tuple[str, Strike]] = ()  # (account_id, strike)
    strikes_removed: Sequence[tuple[str, str]] = ()  # (account_id, case_id)
    bank: BankChange | None = None  # bank entries the decision writes or disables (repository/bank.py)
    new_reports: Sequence[tuple[Report, str, it.Item]] = ()  # (report, dedupe digest, response): made by the change


@dataclass(frozen=True)
class Page:
    items: list[it.Item]
    cursor: dict[str, Any] | None


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("the cursor is not valid") from exc
    if not isinstance(key, dict):
        raise InvalidCursor("the cursor is not valid")
    return key


class InvalidCursor(DomainError):
    code = "invalid_cursor"


def _unavailable(exc: ClientError | BotoCoreError) -> StorageUnavailable:
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
    return StorageUnavailable("storage is temporarily unavailable, retry later", error_code=code)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class CaseRepository:
    """DynamoDB single-table repository. `client` defaults to the lazily built, cached client."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = dynamodb_client()
        return self._client

    # ------------------------------------------------------------ low level

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            if _code(exc) in _RETRYABLE:
                raise _unavailable(exc) from exc
            raise
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    def _get(self, key: it.Item, consistent: bool = False) -> it.Item | None:
        response = self._call("get_item", TableName=self.table_name, Key=_av(key), ConsistentRead=consistent)
        item = response.get("Item")
        return _py(item) if item else None

    def _batch_get(self, keys: Iterable[it.Item]) -> list[it.Item]:
        unique = {(k["PK"], k["SK"]): k for k in keys}
        pending = [_av(k) for k in unique.values()]
        found: list[it.Item] = []
        while pending:
            chunk, pending = pending[:100], pending[100:]
            request: dict[str, Any] = {self.table_name: {"Keys": chunk, "ConsistentRead": True}}
            for _ in range(5):
                response = self._call("batch_get_item", RequestItems=request)
                found.extend(_py(i) for i in response.get("Responses", {}).get(self.table_name, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise StorageUnavailable("storage is temporarily unavailable, retry later", error_code="Unprocessed")
        return found

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        try:
            self.client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as exc:
            if _code(exc) == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons", [])
                codes = [r.get("Code", "None") for r in reasons]
                if any(c in {"ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"} for c in codes):
                    raise _unavailable(exc) from exc
                raise TransactionRejected(codes, [dict(r["Item"]) if r.get("Item") else None for r in reasons]) from exc
            if _code(exc) in _RETRYABLE:
                raise _unavailable(exc) from exc
            raise
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    # ------------------------------------------------------------ reports

    def create_report(
        self,
        report: Report,
        dedupe_digest: str,
        response: it.Item,
        stuck_due_at: datetime,
        idempotency: IdempotencyClaim | None = None,
        limits: ReporterLimits | None = None,
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
        try:
            self._transact(actions)
        except TransactionRejected as rejected:
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

    def mark_report_evaluated(self, report_id: str, evaluated_at: datetime) -> None:
        """Fold a report into its case without touching the case item; clears the stuck-work timer."""
        self._call(
            "update_item",
            TableName=self.table_name,
            Key=_av(it.report_key(report_id)),
            UpdateExpression="SET #s = :evaluated, evaluated_at = :at REMOVE DPK, DSK",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_av({":evaluated": "evaluated", ":at": it.iso(evaluated_at)}),
        )

    def case_reports(self, case_id: str) -> list[Report]:
        """Every report of a case, oldest first, gathered from the case's ListIndex shards."""
        found: list[Report] = []
        for shard in range(it.CASE_REPORT_SHARDS):
            cursor: dict[str, Any] | None = None
            while True:
                kwargs: dict[str, Any] = {
                    "TableName": self.table_name,
                    "IndexName": "ListIndex",
                    "KeyConditionExpression": "LPK = :p",
                    "ExpressionAttributeValues": _av({":p": it.case_reports_partition(case_id, shard)}),
                }
                if cursor:
                    kwargs["ExclusiveStartKey"] = cursor
                response = self._call("query", **kwargs)
                found.extend(it.report_from_item(_py(i)) for i in response.get("Items", []))
                cursor = response.get("LastEvaluatedKey")
                if not cursor:
                    break
        return sorted(found, key=lambda r: (r.submitted_at, r.report_id))

    # ------------------------------------------------------------ context

    def put_post_context(self, context: PostContext) -> None:
        self._call("put_item", TableName=self.table_name, Item=_av(it.post_context_to_item(context)))

    def put_account_context(self, context: AccountContext) -> None:
        self._call("put_item", TableName=self.table_name, Item=_av(it.account_context_to_item(context)))

    def put_media_context(self, facts: MediaFacts, updated_at: datetime) -> None:
        self._call("put_item", TableName=self.table_name, Item=_av(it.media_to_item(facts, updated_at)))

    def mark_post_deleted(self, post_id: str, at: datetime) -> PostContext:
        """Record that the author deleted the post; returns the updated context."""
        item = self._get(it.post_key(post_id), consistent=True)
        if item is None:
            raise NotFound("post not found")
        context = it.post_context_from_item(item)
        updated = PostContext(
            facts=context.facts.model_copy(update={"deleted": True}), text=context.text, updated_at=at
        )
        self.put_post_context(updated)
        return updated

    def get_account_context(self, account_id: str) -> AccountContext | None:
        item = self._get(it.account_key(account_id))
        return it.account_context_from_item(item) if item else None

    def load_evaluation_inputs(
        self, case_id: str, post_id: str, account_ids: Iterable[str], media_ids: Iterable[str] = ()
    ) -> tuple[Case | None, PostContext | None, dict[str, AccountContext], dict[str, MediaFacts]]:
        """The case, the post, the accounts and the media an evaluation needs, in one batch read."""
        keys = [it.case_key(case_id), it.post_key(post_id)]
        keys += [it.account_key(a) for a in account_ids]
        keys += [it.media_key(m) for m in media_ids]
        case: Case | None = None
        post: PostContext | None = None
        accounts: dict[str, AccountContext] = {}
        media: dict[str, MediaFacts] = {}
        for item in self._batch_get(keys):
            kind = item.get("type")
            if kind == "case":
                case = it.case_from_item(item)
            elif kind == "post_context":
                post = it.post_context_from_item(item)
            elif kind == "account_context":
                account = it.account_context_from_item(item)
                accounts[account.facts.account_id] = account
            elif kind == "media_context":
                facts = it.media_from_item(item)
                media[facts.media_id] = facts
        return case, post, accounts, media

    def load_accounts_and_media(
        self, account_ids: Iterable[str], media_ids: Iterable[str]
    ) -> tuple[dict[str, AccountContext], dict[str, MediaFacts]]:
        keys = [it.account_key(a) for a in account_ids] + [it.media_key(m) for m in media_ids]
        accounts: dict[str, AccountContext] = {}
        media: dict[str, MediaFacts] = {}
        if not keys:
            return accounts, media
        for item in self._batch_get(keys):
            if item.get("type") == "account_context":
                account = it.account_context_from_item(item)
                accounts[account.facts.account_id] = account
            elif item.get("type") == "media_context":
                facts = it.media_from_item(item)
                media[facts.media_id] = facts
        return accounts, media

    # ------------------------------------------------------------ cases

    def get_case(self, case_id: str, consistent: bool = True) -> Case:
        item = self._get(it.case_key(case_id), consistent)
        if item is None:
            raise NotFound("case not found")
        return it.case_from_item(item)

    def get_cases(self, case_ids: Iterable[str]) -> list[Case]:
        return [it.case_from_item(i) for i in self._batch_get(it.case_key(c) for c in case_ids)]

    def case_events(self, case_id: str) -> list[CaseEvent]:
        events: list[CaseEvent] = []
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
            events.extend(it.event_from_item(_py(i)) for i in response.get("Items", []))
            cursor = response.get("LastEvaluatedKey")
            if not cursor:
                return events

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
        for event in change.events:
            actions.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": _av(it.event_to_item(event)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
            )
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
        try:
            self._transact(actions)
        except TransactionRejected as rejected:
            _raise_if_case_changed(rejected)
            raise

    def effects_published(self, case_id: str, seq: int) -> bool:
        return self._get({"PK": f"CASE#{case_id}", "SK": f"PUBLISHED#{seq:08d}"}, consistent=True) is not None

    def mark_effects_published(self, case_id: str, seq: int) -> None:
        self._call(
            "put_item",
            TableName=self.table_name,
            Item=_av({"PK": f"CASE#{case_id}", "SK": f"PUBLISHED#{seq:08d}", "type": "published"}),
        )

    def strikes_of(self, account_id: str) -> list[Strike]:
        response = self._call(
            "query",
            TableName=self.table_name,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :strike)",
            ExpressionAttributeValues=_av({":pk": f"ACCOUNT#{account_id}", ":strike": "STRIKE#"}),
            ConsistentRead=True,
        )
        return [it.strike_from_item(_py(i)) for i in response.get("Items", [])]

    def queue(self, queue_pk: str, limit: int, cursor: str | None) -> tuple[list[Case], str | None]:
        """A work queue (review or appeals) in its index order: priority, then age."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "ListIndex",
            "KeyConditionExpression": "LPK = :p",
            "ExpressionAttributeValues": _av({":p": queue_pk}),
            "Limit": limit,
        }
        start = _decode_cursor(cursor)
        if start is not None:
            if start.get("LPK", {}).get("S") != queue_pk:
                raise InvalidCursor("the cursor is not valid")
            kwargs["ExclusiveStartKey"] = start
        response = self._call("query", **kwargs)
        return [it.case_from_item(_py(i)) for i in response.get("Items", [])], _encode_cursor(
            response.get("LastEvaluatedKey")
        )

    def reported_by(self, dedupe_digest: str) -> str | None:
        """The report id of a reporter's report on (post, category), found by its dedupe marker."""
        item = self._get(it.dedupe_key(dedupe_digest), consistent=True)
        return str(item["report_id"]) if item else None

    def get_post_context(self, post_id: str) -> PostContext | None:
        item = self._get(it.post_key(post_id))
        return it.post_context_from_item(item) if item else None

    def set_dedicated_to_exposure(self, account_id: str, dedicated: bool, at: datetime) -> AccountContext:
        existing = self.get_account_context(account_id)
        context = AccountContext(
            facts=(existing.facts if existing else AccountFacts(account_id=account_id)).model_copy(
                update={"dedicated_to_exposure": dedicated}
            ),
            contact_email=existing.contact_email if existing else None,
            locale=existing.locale if existing else "en",
            updated_at=at,
        )
        self.put_account_context(context)
        return context

    # ------------------------------------------------------------ notifications

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

    def set_email_status(self, notification_id: str, status: str, attempts: int) -> None:
        self._call(
            "update_item",
            TableName=self.table_name,
            Key=_av(it.notification_key(notification_id)),
            UpdateExpression="SET email_status = :s, attempts = :a",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues=_av({":s": status, ":a": attempts}),
        )

    def reporter_standing(self, reporter_id: str) -> it.Item | None:
        return self._get(it.standing_key(reporter_id), consistent=True)

    def save_reporter_standing(self, standing: it.Item, expected_version: int | None) -> None:
        """Version-guarded write of a reporter's standing (unfounded reports, warning, suspension)."""
        condition = "attribute_not_exists(PK)" if expected_version is None else "version = :v"
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": _av({**standing, **it.standing_key(str(standing["reporter_id"]))}),
            "ConditionExpression": condition,
        }
        if expected_version is not None:
            kwargs["ExpressionAttributeValues"] = _av({":v": expected_version})
        try:
            self._call("put_item", **kwargs)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict("the reporter's standing changed concurrently") from None
            raise

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

    def inbox(self, recipient_id: str, limit: int, cursor: str | None) -> tuple[list[Notification], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "ListIndex",
            "KeyConditionExpression": "LPK = :p",
            "ExpressionAttributeValues": _av({":p": it.inbox_partition(recipient_id)}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start = _decode_cursor(cursor)
        if start is not None:
            # a cursor is only valid for the inbox it came from
            if start.get("LPK", {}).get("S") != it.inbox_partition(recipient_id):
                raise InvalidCursor("the cursor is not valid")
            kwargs["ExclusiveStartKey"] = start
        response = self._call("query", **kwargs)
        return [it.notification_from_item(_py(i)) for i in response.get("Items", [])], _encode_cursor(
            response.get("LastEvaluatedKey")
        )

    # ------------------------------------------------------------ timers

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

    # ---- re-review (scheduled) ----
    # The writes of services/review.py. Each is conditional on what the run read (the case's version, the DueIndex
    # key), so overlapping runs act once; each is idempotent, so a run cut short leaves nothing half-done.

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

    def strike_record(self, account_id: str, case_id: str) -> it.Item | None:
        """The strike item as stored (with its timer and expiry bookkeeping)."""
        return self._get(it.strike_key(account_id, case_id), consistent=True)

    def expire_strike(
        self, change: CaseChange, account_id: str, expected_dsk: str, seq: int, publish_due: datetime
    ) -> bool:
        """A strike's expiry in one transaction: the case's new version with its event, and the strike moved from
        its expiry timer to the timer that publishes the expiry. Raises VersionConflict when the case changed;
        False when the strike's timer is no longer the one read (another run acted)."""
        assert change.expected_version is not None
        case_id = change.case.case_id
        publish = it.due_attributes("strike_publish", f"ACCOUNT#{account_id}", publish_due)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _av(it.case_to_item(change.case)),
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": _av({":expected": change.expected_version}),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            *(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": _av(it.event_to_item(event)),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                }
                for event in change.events
            ),
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _av(it.strike_key(account_id, case_id)),
                    "UpdateExpression": "SET expired_at = :at, lifted_seq = :seq, DPK = :dpk, DSK = :dsk",
                    "ConditionExpression": "DSK = :expected",
                    "ExpressionAttributeValues": _av(
                        {
                            ":at": it.iso(change.case.updated_at),
                            ":seq": seq,
                            ":dpk": publish["DPK"],
                            ":dsk": publish["DSK"],
                            ":expected": expected_dsk,
                        }
                    ),
                }
            },
        ]
        try:
            self._transact(actions)
        except TransactionRejected as rejected:
            _raise_if_case_changed(rejected)
            if rejected.codes[-1] == "ConditionalCheckFailed":
                return False
            raise
        return True

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

    def redact_event(self, event: CaseEvent) -> None:
        """Rewrite a case event's actor and data (retention: who appealed, free-text notes)."""
        self._call(
            "update_item",
            TableName=self.table_name,
            Key=_av(it.event_key(event.case_id, event.seq)),
            UpdateExpression="SET actor = :actor, #d = :data",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames={"#d": "data"},
            ExpressionAttributeValues=_av({":actor": event.actor, ":data": it.event_to_item(event)["data"]}),
        )


def _raise_if_case_changed(rejected: TransactionRejected) -> None:
    """The case status item is the first action of every case transaction: its failed condition means someone
    else changed the case first; the loser learns the winner's state."""
    if rejected.codes[0] == "ConditionalCheckFailed":
        winner = rejected.items[0]
        raise VersionConflict(
            "the case was changed by someone else",
            current=it.case_from_item(_py(winner)) if winner else None,
        ) from None


class TransactionRejected(DomainError):
    """A transaction was cancelled by a condition; `codes` and `items` follow the order of its actions."""

    code = "transaction_rejected"

    def __init__(self, codes: list[str], items: list[dict[str, Any] | None]) -> None:
        super().__init__("transaction cancelled: " + ",".join(codes))
        self.codes = codes
        self.items = items
