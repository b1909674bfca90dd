"""What every repository module shares: the lazily built client, bounded retries, (de)serialisation, the mapping
of ClientError codes to domain exceptions, cursors, and the low-level calls on the one table."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from consent_guard import aws
from consent_guard.aws import SDK_CONFIG as SDK_CONFIG
from consent_guard.cursors import InvalidCursor as InvalidCursor  # the one the HTTP layer maps to 400
from consent_guard.errors import DomainError, StorageUnavailable, VersionConflict
from consent_guard.models import items as it
from consent_guard.repository.attributes import deserialize, serialize

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

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


@cache
def dynamodb_client() -> DynamoDBClient:
    client: DynamoDBClient = aws.client("dynamodb")
    return client


def _av(item: it.Item) -> dict[str, Any]:
    return {k: serialize(v) for k, v in item.items() if v is not None}


def _py(item: dict[str, Any]) -> it.Item:
    return {k: deserialize(v) for k, v in item.items()}


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


def _unavailable(exc: ClientError | BotoCoreError) -> StorageUnavailable:
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
    return StorageUnavailable("storage is temporarily unavailable, retry later", error_code=code)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


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


class TableAccess:
    """The single table and its low-level calls; each aggregate's module adds its reads and writes on top."""

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

    def _query_all(self, **kwargs: Any) -> Iterator[it.Item]:
        """Every item a query matches, page after page (for reads whose whole result is needed)."""
        while True:
            response = self._call("query", TableName=self.table_name, **kwargs)
            yield from (_py(i) for i in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

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
