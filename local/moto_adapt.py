"""Small, tested adaptations of moto that keep the local stack's cost per request flat as its data grows.

Two costs in moto 5.2.5 grow with the size of a table, and the local stack pays both on every request:

moto 5.2.5's `DynamoDBBackend.transact_write_items` backs up every table a transaction touches with
`copy.deepcopy(table)` before it starts, so each transaction costs O(table size) in time, and the copies churn memory
(issue 11: 0.4-0.6 s per report at ~2,400 items, gigabytes of RSS after twenty minutes). Here the backup is an undo
log of the items the transaction writes (a deep copy of each one, or "absent"), restored in reverse order on
rollback, so a transaction costs O(items touched). Everything else (validation, condition checks, cancellation
reasons, the order of operations) is moto's own code path.

`Table.query` reads its candidates from `Table.all_items()`, which sorts every item of the table, for a query on
the table's own key as for one on a global secondary index: O(n log n) per query. Here a query sees only the items
it can match: the partition of its hash key, or, on a GSI, the items whose index hash key equals the query's, from a
per-table map kept up to date by every write path (put, delete, update, the transaction rollback). moto's own query
code then filters, sorts, pages and projects them as before.

Two records moto keeps for its own tests grow with every message, without bound: SES's list of sent emails (bodies
included) and each SQS queue's set of the receipt handles of deleted messages (so that deleting twice is not an
error). `bound_bookkeeping` keeps the newest `KEEP_SENT_EMAILS` emails and `KEEP_DELETED_HANDLES` handles per
queue; a receipt handle older than that, deleted again, gets ReceiptHandleIsInvalid instead of silence, which no
consumer of ours does (a redelivered message carries a new handle).

The adaptation replaces one method and relies on moto's internals (`Table.items`, `Table.get_item`, the stream
shard); `MOTO_VERSION` pins the version it was written against, and `tests/unit/test_moto_adapt.py` fails when the
installed moto differs or when the replaced method's source changes, so an upgrade is a deliberate step.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import logging
import pickle
import threading
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

MOTO_VERSION = "5.2.5"
# sha256 of the source of moto's DynamoDBBackend.transact_write_items this module replaces
REPLACED_SOURCE_SHA256 = "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4"
# ... and of the methods it wraps and whose internals (items, all_items) it relies on
WRAPPED_SOURCES_SHA256 = "60d56c2c7d50bb16498954099a05defa0af13ab18185239eb44aba8ea2d80636"
# ... and of moto's Item and DynamoType internals the compact items rely on (compact_sources_digest)
COMPACT_SOURCES_SHA256 = "d9b7448acd3842066d6a088bf0183a8b129865de0da70df4778d85c5eb4c763c"

KEEP_SENT_EMAILS = 1_000
KEEP_DELETED_HANDLES = 20_000

_applied = False
log = logging.getLogger("local_stack.moto")


class BoundedSet:
    """The newest `size` members of a set (insertion order): `in`, `add`, `update`, `len`."""

    def __init__(self, size: int, members: Iterable[Any] = ()) -> None:
        self.size = size
        self._members: dict[Any, None] = {}
        self.update(members)

    def __contains__(self, member: object) -> bool:
        return member in self._members

    def __len__(self) -> int:
        return len(self._members)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._members)

    def add(self, member: Any) -> None:
        self._members.pop(member, None)
        self._members[member] = None
        while len(self._members) > self.size:
            del self._members[next(iter(self._members))]

    def update(self, members: Iterable[Any]) -> None:
        for member in members:
            self.add(member)


UNTRACKED_SERVICES = ("dynamodb", "sqs", "events", "ses", "sesv2", "ssm")


def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def untrack_models() -> None:
    """moto's BaseModel.__new__ appends every model object ever created to its class's `instances_tracked` (for the
    moto server's dashboard, /moto-api/), and only a reset empties it: every DynamoDB Item (each copy moto and the
    undo log take, each projection) and every SQS message would live for ever. For the services the local stack
    churns, the models' __new__ is object's (S3's is left: its reset disposes of the objects' buffers through the
    list). The dashboard then lists none of their objects."""
    import importlib

    from moto.core.common_models import BaseModel
    from moto.core.model_instances import model_data

    for service in UNTRACKED_SERVICES:
        try:
            importlib.import_module(f"moto.{service}.models")
        except ImportError:
            continue
        for model in model_data.get(service, {}).values():
            if model.__new__ is BaseModel.__new__:  # type: ignore[attr-defined]
                model.__new__ = staticmethod(_untracked_new)  # type: ignore[attr-defined]
            model.instances_tracked = []  # type: ignore[attr-defined]


def bound_bookkeeping(region: str) -> None:
    """Cap the sent-email list and the deleted-receipt-handle sets of this region's SES and SQS backends."""
    from collections import deque

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    from moto.sqs.models import sqs_backends

    ses = ses_backends[DEFAULT_ACCOUNT_ID][region]
    if not isinstance(ses.sent_messages, deque):
        ses.sent_messages = deque(ses.sent_messages, maxlen=KEEP_SENT_EMAILS)
    for queue in sqs_backends[DEFAULT_ACCOUNT_ID][region].queues.values():
        if not isinstance(queue.deleted_messages, BoundedSet):
            queue.deleted_messages = BoundedSet(KEEP_DELETED_HANDLES, queue.deleted_messages)


def compact_sources_digest() -> str:
    """moto's Item and DynamoType as the compact items rely on them: an Item's state is hash_key, range_key and
    attrs (a LimitedSizeDict of DynamoType); a DynamoType's is type and value (DynamoType for L and M members); and
    moto's instance tracking as `untrack_models` replaces it (a class attribute `instances_tracked`, appended to)."""
    from moto.core.base_backend import InstanceTrackerMeta
    from moto.core.common_models import BaseModel
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    sources = [inspect.getsource(LimitedSizeDict), inspect.getsource(DynamoType.__init__)]
    sources += [inspect.getsource(BaseModel.__new__), inspect.getsource(InstanceTrackerMeta)]
    sources += [inspect.getsource(getattr(Item, name)) for name in ("__init__", "__deepcopy__")]
    return hashlib.sha256("".join(sources).encode()).hexdigest()


def _original(owner: Any, name: str) -> Any:
    method = getattr(owner, name)
    return getattr(method, "__moto_original__", method)


def replaced_source_digest() -> str:
    from moto.dynamodb.models import DynamoDBBackend

    return hashlib.sha256(inspect.getsource(_original(DynamoDBBackend, "transact_write_items")).encode()).hexdigest()


def wrapped_sources_digest() -> str:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    methods = [
        _original(Table, "query"),
        _original(Table, "put_item"),
        _original(Table, "delete_item"),
        _original(Table, "all_items"),
        _original(DynamoDBBackend, "update_item"),
        _original(Table, "get_item"),
    ]
    return hashlib.sha256("".join(inspect.getsource(m) for m in methods).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------- compact items

HOT_ITEMS = 2_000  # items kept as moto objects between requests (the most recently materialised)


def _encode_value(value: Any) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if type(value) is DynamoType:
        inner = value.value
        if value.type == "L":
            inner = [_encode_value(v) for v in inner]
        elif value.type == "M":
            inner = {k: _encode_value(v) for k, v in inner.items()}
        return (value.type, inner)
    if isinstance(value, (str, bytes, bool, int, list, dict)) or value is None:
        return value  # not a DynamoType (moto keeps none at these places; kept as it is, should it ever)
    raise TypeError(f"no compact form for {type(value).__name__}")


def _decode_value(value: Any) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if type(value) is not tuple:
        return value
    kind, inner = value
    if kind == "L":
        inner = [_decode_value(v) for v in inner]
    elif kind == "M":
        inner = {k: _decode_value(v) for k, v in inner.items()}
    decoded = DynamoType.__new__(DynamoType)
    decoded.type = kind
    decoded.value = inner
    return decoded


def encode_attrs(attrs: dict[str, Any]) -> bytes:
    """An item's attributes (moto's DynamoType objects) as one bytes object: (type, value) tuples, pickled and
    deflated (level 1: about 0.5 kB instead of 0.8 for an item of this product, in microseconds)."""
    return zlib.compress(
        pickle.dumps({k: _encode_value(v) for k, v in attrs.items()}, protocol=pickle.HIGHEST_PROTOCOL), 1
    )


def decode_attrs(blob: bytes) -> Any:
    """The attributes as moto holds them: a LimitedSizeDict of DynamoType, filled without re-validating its size
    (it passed on write), as moto's own Item.__deepcopy__ does."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    values = pickle.loads(zlib.decompress(blob))  # noqa: S301 - bytes this process made
    dict.__init__(attrs, {k: _decode_value(v) for k, v in values.items()})
    return attrs


_hot: dict[int, Any] = {}  # id -> CompactItem whose attributes are materialised, oldest first


def _compact_item_class() -> type:
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

    class CompactItem(Item):
        """A moto Item that keeps its attributes as bytes (`encode_attrs`) while nobody reads them: `attrs` turns
        them back into moto's objects on first use, and `trim()` packs the least recently materialised again."""

        @property  # type: ignore[misc]
        def attrs(self) -> Any:
            attrs = self.__dict__.get("_attrs")
            if attrs is None:
                attrs = self.__dict__["_attrs"] = decode_attrs(self.__dict__.pop("_blob"))
                _hot[id(self)] = self
            return attrs

        @attrs.setter
        def attrs(self, value: Any) -> None:
            self.__dict__.pop("_blob", None)
            self.__dict__["_attrs"] = value
            _hot[id(self)] = self

        def __deepcopy__(self, memo: dict[int, Any]) -> Any:
            """A plain moto Item (the copies moto and the undo log take are short-lived). Unpacking the bytes
            makes fresh objects, a deep copy; materialised attributes are copied as moto's Item.__deepcopy__ does."""
            plain = Item.__new__(Item)
            memo[id(self)] = plain
            state = dict(self.__dict__)
            blob, attrs = state.pop("_blob", None), state.pop("_attrs", None)
            for name, value in state.items():
                setattr(plain, name, copy.deepcopy(value, memo))
            if attrs is None:
                plain.attrs = decode_attrs(blob)
            else:
                copied = LimitedSizeDict.__new__(LimitedSizeDict)
                dict.__init__(copied, {k: copy.deepcopy(v, memo) for k, v in attrs.items()})
                plain.attrs = copied
            return plain

        def __getstate__(self) -> dict[str, Any]:  # a snapshot stores the compact form
            state = dict(self.__dict__)
            attrs = state.pop("_attrs", None)
            if attrs is not None:
                state["_blob"] = encode_attrs(attrs)
            return state

        def __setstate__(self, state: dict[str, Any]) -> None:
            self.__dict__.update(state)

        def pack(self) -> None:
            attrs = self.__dict__.get("_attrs")
            if attrs is not None:
                self.__dict__["_blob"] = encode_attrs(attrs)
                del self.__dict__["_attrs"]

    return CompactItem


_CompactItem: type | None = None


def compact_item_class() -> type:
    global _CompactItem
    if _CompactItem is None:
        _CompactItem = _compact_item_class()
    return _CompactItem


def adopt(item: Any) -> Any:
    """Turn a plain moto Item into a CompactItem in place (same object: every reference stays valid)."""
    cls = compact_item_class()
    if item is None or type(item) is cls:
        return item
    attrs = item.__dict__.pop("attrs")
    item.__class__ = cls
    item.__dict__["_attrs"] = attrs
    _hot[id(item)] = item
    return item


def adopt_table(table: Any) -> None:
    for partition in table.items.values():
        for item in partition.values() if table.range_key_attr else [partition]:
            adopt(item)


def trim(keep: int = HOT_ITEMS) -> None:
    """Pack all but the `keep` most recently materialised items; call it between requests (the local stack does,
    after each one), never while moto is inside a request that may hold an item's attributes."""
    while len(_hot) > keep:
        item = _hot.pop(next(iter(_hot)))
        try:
            item.pack()
        except TypeError:
            log.warning("an item's attributes have no compact form; kept as moto objects")


# ---------------------------------------------------------------------------------------------- query candidates


class _GsiMap:
    """For one table: index name -> index hash key values -> the primary keys of the items that carry them."""

    def __init__(self, table: Any) -> None:
        self.hash_attrs: dict[str, list[str]] = {
            index.name: [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            for index in (table.global_indexes or [])
        }
        self.members: dict[str, dict[tuple[Any, ...], set[tuple[Any, Any]]]] = {n: {} for n in self.hash_attrs}
        for partition in table.items.values():
            for item in partition.values() if table.range_key_attr else [partition]:
                self.add(item)

    def _values(self, index: str, item: Any) -> tuple[Any, ...] | None:
        values = tuple(item.attrs.get(a) for a in self.hash_attrs[index])
        return None if any(v is None for v in values) else values

    def add(self, item: Any) -> None:
        for index in self.hash_attrs:
            values = self._values(index, item)
            if values is not None:
                self.members[index].setdefault(values, set()).add((item.hash_key, item.range_key))

    def discard(self, item: Any) -> None:
        for index in self.hash_attrs:
            values = self._values(index, item)
            if values is not None:
                keys = self.members[index].get(values)
                if keys is not None:
                    keys.discard((item.hash_key, item.range_key))
                    if not keys:
                        del self.members[index][values]

    def candidates(self, table: Any, index: str, values: tuple[Any, ...]) -> list[Any]:
        out = []
        for hash_key, range_key in self.members[index].get(values, ()):
            item = table.get_item(hash_key, range_key) if range_key is not None else table.items.get(hash_key)
            if item is not None:
                out.append(item)
        return out


def _gsi_map(table: Any) -> _GsiMap:
    existing: _GsiMap | None = table.__dict__.get("_cg_gsi_map")
    if existing is None:
        existing = table.__dict__["_cg_gsi_map"] = _GsiMap(table)
    return existing


def reindex(table: Any) -> None:
    """After `table.items` was replaced wholesale (a restored snapshot): rebuild the map on the next query, and
    keep every item compact."""
    table.__dict__.pop("_cg_gsi_map", None)
    adopt_table(table)
    trim()


def _sort_like_all_items(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    original = _original(type(self), "query")
    bound = inspect.signature(original).bind(self, hash_key, *args, **kwargs).arguments
    index_name = bound.get("index_name")
    candidates: list[Any] | None = None
    if index_name is None:
        partition = self.items.get(hash_key)
        if partition is None:
            candidates = []
        elif self.range_key_attr:
            candidates = list(partition.values())
        else:
            candidates = [partition]
    elif any(i.name == index_name for i in (self.global_indexes or [])):
        gsi = _gsi_map(self)
        attrs = gsi.hash_attrs[index_name]
        conditions = dict(bound.get("hash_key_conditions") or [])
        if not conditions and len(attrs) == 1 and hash_key is not None:
            conditions = {attrs[0]: hash_key}
        if set(conditions) == set(attrs):
            candidates = gsi.candidates(self, index_name, tuple(conditions[a] for a in attrs))
    if candidates is None:  # a local secondary index, or a shape this map doesn't know: moto's own full pass
        return _original(type(self), "query")(self, hash_key, *args, **kwargs)
    # moto's query reads its candidates from all_items(): this thread's query of this table gets the narrowed
    # list. Thread-local, because threads query one table at once where nothing serialises them (tests' threads on
    # in-process moto, the bench's threaded server): an override on the table object raced there.
    overrides = _query_candidates.__dict__.setdefault("by_table", {})
    overrides[id(self)] = _sort_like_all_items(candidates)
    try:
        return _original(type(self), "query")(self, hash_key, *args, **kwargs)
    finally:
        del overrides[id(self)]


_query_candidates = threading.local()


def _table_all_items(self: Any) -> Any:
    ordered = getattr(_query_candidates, "by_table", {}).get(id(self))
    return ordered if ordered is not None else _original(type(self), "all_items")(self)


def _table_put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    gsi: _GsiMap | None = self.__dict__.get("_cg_gsi_map")
    if gsi is None:
        return adopt(_original(type(self), "put_item")(self, item_attrs, *args, **kwargs))
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(item_attrs[self.hash_key_attr]) if self.hash_key_attr in item_attrs else None
    range_value = (
        DynamoType(item_attrs[self.range_key_attr])
        if self.range_key_attr is not None and self.range_key_attr in item_attrs
        else None
    )
    previous = self.get_item(hash_value, range_value) if hash_value is not None else None
    item = adopt(_original(type(self), "put_item")(self, item_attrs, *args, **kwargs))
    if previous is not None:
        gsi.discard(previous)
    gsi.add(item)
    return item


def _table_get_item(self: Any, hash_key: Any, range_key: Any = None, *args: Any, **kwargs: Any) -> Any:
    """moto's get_item on a table with a sort key reads `self.items[hash][range]` from a defaultdict, which leaves an
    empty partition behind for every key looked up and not found (an idempotency check, a first report): here a
    missing partition answers None, as moto then does, without creating it."""
    if range_key is not None and self.range_key_attr is not None and hash_key not in self.items:
        return None
    return _original(type(self), "get_item")(self, hash_key, range_key, *args, **kwargs)


def _table_delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
    item = _original(type(self), "delete_item")(self, hash_key, range_key)
    gsi: _GsiMap | None = self.__dict__.get("_cg_gsi_map")
    if gsi is not None and item is not None:
        gsi.discard(item)
    return item


def _backend_update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """update_item changes the item in place: take it out of the map as it was, put it back as it is."""
    table = self.get_table(table_name)
    gsi: _GsiMap | None = table.__dict__.get("_cg_gsi_map")
    if gsi is None:
        return _original(type(self), "update_item")(self, table_name, key, *args, **kwargs)
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
    before = table.get_item(hash_value, range_value)
    if before is not None:
        gsi.discard(before)
    try:
        item = _original(type(self), "update_item")(self, table_name, key, *args, **kwargs)
    finally:
        current = table.get_item(hash_value, range_value)
        if current is not None:
            gsi.add(current)
    return item


class _UndoLog:
    """The items a transaction is about to change, as they were, so a rollback restores exactly those."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, deep copy or None)
        self.seen: set[tuple[int, Any, Any]] = set()
        self.stream_lengths: dict[int, tuple[Any, int]] = {}

    def remember(self, table: Any, key: dict[str, Any]) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
        marker = (id(table), hash_value, range_value)
        if marker in self.seen:
            return
        self.seen.add(marker)
        if table.stream_shard is not None and id(table) not in self.stream_lengths:
            self.stream_lengths[id(table)] = (table, len(table.stream_shard.items))
        current = table.get_item(hash_value, range_value)
        self.entries.append((table, hash_value, range_value, copy.deepcopy(current)))

    def rollback(self) -> None:
        for table, hash_value, range_value, before in reversed(self.entries):
            gsi: _GsiMap | None = table.__dict__.get("_cg_gsi_map")
            if gsi is not None:
                current = table.get_item(hash_value, range_value)
                if current is not None:
                    gsi.discard(current)
                if before is not None:
                    gsi.add(before)
            adopt(before)
            if before is None:
                if range_value is not None:
                    partition = table.items.get(hash_value)
                    if partition is not None:
                        partition.pop(range_value, None)
                        if not partition:
                            table.items.pop(hash_value, None)
                else:
                    table.items.pop(hash_value, None)
            elif range_value is not None:
                table.items[hash_value][range_value] = before
            else:
                table.items[hash_value] = before
        for table, length in self.stream_lengths.values():
            del table.stream_shard.items[length:]  # the records of writes that were undone


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's transact_write_items with an item-level undo log instead of a deep copy of every touched table."""
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import get_filter_expression

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _UndoLog()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            return_on_failure = op.get("ReturnValuesOnConditionCheckFailure")
            table = self.get_table(table_name)
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)
            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if return_on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                undo.remember(table, key)
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto's behaviour: any other failure cancels with its type as the code
            errors.append((type(e).__name__, str(e), original_item))
    if any(code is not None for code, _, _ in errors):
        undo.rollback()
        raise TransactionCanceledException(errors)


def apply() -> None:
    """Install the adaptations (idempotent). Refuses to run on a moto version it wasn't written for."""
    global _applied
    if _applied:
        return
    import moto
    from moto.dynamodb.models import DynamoDBBackend

    if (
        moto.__version__ != MOTO_VERSION
        or wrapped_sources_digest() != WRAPPED_SOURCES_SHA256
        or compact_sources_digest() != COMPACT_SOURCES_SHA256
    ):
        raise RuntimeError(
            f"local/moto_adapt.py was written for moto {MOTO_VERSION}, found {moto.__version__}: "
            "re-check the replaced and wrapped methods, then update MOTO_VERSION and the digests"
        )
    from moto.dynamodb.models.table import Table

    for owner, name, replacement in (
        (DynamoDBBackend, "transact_write_items", transact_write_items),
        (DynamoDBBackend, "update_item", _backend_update_item),
        (Table, "query", _query),
        (Table, "put_item", _table_put_item),
        (Table, "delete_item", _table_delete_item),
        (Table, "get_item", _table_get_item),
        (Table, "all_items", _table_all_items),
    ):
        replacement.__moto_original__ = getattr(owner, name)  # type: ignore[attr-defined]
        setattr(owner, name, replacement)
    untrack_models()
    _applied = True
