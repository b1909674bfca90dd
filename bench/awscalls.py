"""Every AWS API call the product makes, seen through botocore's event hooks.

The recorder is registered in botocore's BUILTIN_HANDLERS, so every session and client created afterwards (the
product's cached clients included) reports to it. A call is counted only while a label is set (the function
whose handler is running), so the bench's own setup and queue plumbing are never counted.

Per call it keeps: the function label, `service.Operation`, the time between `before-call` and `after-call` (the
time spent inside the AWS call: signing, the request to moto and parsing; request building and validation stay
with the caller), and optionally what a DynamoDB call consumes in capacity units, computed from the sizes of the
items it read or wrote (DynamoDB's documented size and rounding rules), including the writes to the table's
global secondary indexes.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------- DynamoDB item sizes and capacity


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    return (len(digits.rstrip("0") or "0") + 1) // 2 + 1


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one AttributeValue, by DynamoDB's item size rules."""
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return _number_size(str(raw))
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(_number_size(n) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in raw.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    @classmethod
    def from_template(cls, props: dict[str, Any]) -> TableShape:
        keys = tuple(k["AttributeName"] for k in props["KeySchema"])
        indexes = tuple(
            Index(
                name=g["IndexName"],
                keys=tuple(k["AttributeName"] for k in g["KeySchema"]),
                projection=g.get("Projection", {}).get("ProjectionType", "ALL"),
            )
            for g in props.get("GlobalSecondaryIndexes", [])
        )
        return cls(keys=keys, indexes=indexes)

    def index_entry(self, index: Index, item: dict[str, Any] | None) -> dict[str, Any] | None:
        if not item or any(k not in item for k in index.keys):
            return None
        if index.projection == "ALL":
            return item
        return {k: item[k] for k in (*index.keys, *self.keys) if k in item}


@dataclass
class Capacity:
    """Request units, as billed on an on-demand table."""

    write_units: float = 0.0  # base table (transactional writes count double)
    index_write_units: float = 0.0  # global secondary indexes
    read_units: float = 0.0

    def add(self, other: Capacity) -> None:
        self.write_units += other.write_units
        self.index_write_units += other.index_write_units
        self.read_units += other.read_units

    @property
    def total_write_units(self) -> float:
        return self.write_units + self.index_write_units


def write_capacity(shape: TableShape, old: dict[str, Any] | None, new: dict[str, Any] | None, tx: bool) -> Capacity:
    size = max(item_size(old), item_size(new))
    cap = Capacity(write_units=max(1, math.ceil(size / 1024)) * (2 if tx else 1))
    for index in shape.indexes:
        before, after = shape.index_entry(index, old), shape.index_entry(index, new)
        if before is None and after is None:
            continue
        same_keys = before is not None and after is not None and all(before[k] == after[k] for k in index.keys)
        if same_keys and before == after:
            continue  # nothing the index holds changed
        writes = 1 if same_keys or before is None or after is None else 2  # a key change is a delete and a put
        entry = max(item_size(before), item_size(after))
        cap.index_write_units += writes * max(1, math.ceil(entry / 1024))
    return cap


def read_capacity(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


# ---------------------------------------------------------------- the recorder


@dataclass
class Call:
    label: str
    operation: str  # service.Operation, e.g. dynamodb.TransactWriteItems
    seconds: float
    params: dict[str, Any]
    response: dict[str, Any]
    capacity: Capacity | None = None


@dataclass
class Recorder:
    """Counts, times and (optionally) meters the calls made while a label is set."""

    label: str | None = None
    keep_calls: bool = False
    meter: CapacityMeter | None = None
    calls: list[Call] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    aws_seconds: float = 0.0
    aws_cpu_seconds: float = 0.0  # process time inside AWS calls (moto runs in this process)
    meter_seconds: float = 0.0  # time the capacity meter spent reading items: not the product's
    _suspended: int = 0

    # -------------------------------------------------------- hooks

    def install(self) -> None:
        from botocore.handlers import BUILTIN_HANDLERS

        for event, handler in (
            ("before-parameter-build", self._before_parameter_build),
            ("before-call", self._before_call),
            ("after-call", self._after_call),
        ):
            if (event, handler) not in BUILTIN_HANDLERS:
                BUILTIN_HANDLERS.append((event, handler))

    def _active(self) -> bool:
        return self.label is not None and not self._suspended

    def _before_parameter_build(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self._active():
            return
        context["bench_params"] = params
        if self.meter is not None and model.service_model.service_name == "dynamodb":
            started = time.perf_counter()
            with self.suspended():
                context["bench_before"] = self.meter.before(model.name, params)
            self.meter_seconds += time.perf_counter() - started

    def _before_call(self, context: dict[str, Any], **_: Any) -> None:
        if self._active():
            context["bench_t0"] = time.perf_counter()
            context["bench_c0"] = time.process_time()

    def _after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        started = context.pop("bench_t0", None)
        cpu_started = context.pop("bench_c0", None)
        if started is None or cpu_started is None or not self._active():
            return
        seconds = time.perf_counter() - started
        self.aws_cpu_seconds += time.process_time() - cpu_started
        operation = f"{model.service_model.service_name}.{model.name}"
        params = context.get("bench_params", {})
        capacity = None
        if self.meter is not None and operation.startswith("dynamodb."):
            metering = time.perf_counter()
            with self.suspended():
                capacity = self.meter.after(model.name, params, parsed, context.get("bench_before"))
            self.meter_seconds += time.perf_counter() - metering
        label = self.label or "?"
        self.aws_seconds += seconds
        self.counts[(label, operation)] += 1
        if self.keep_calls:
            self.calls.append(Call(label, operation, seconds, params, parsed, capacity))

    # -------------------------------------------------------- use

    @contextmanager
    def suspended(self) -> Iterator[None]:
        self._suspended += 1
        try:
            yield
        finally:
            self._suspended -= 1

    @contextmanager
    def labelled(self, label: str) -> Iterator[None]:
        previous, self.label = self.label, label
        try:
            yield
        finally:
            self.label = previous

    def take(self) -> tuple[float, float, float]:
        """(time inside AWS calls, process time inside them, the meter's time) since the last take."""
        taken = (self.aws_seconds, self.aws_cpu_seconds, self.meter_seconds)
        self.aws_seconds = self.aws_cpu_seconds = self.meter_seconds = 0.0
        return taken

    def reset(self) -> None:
        self.calls.clear()
        self.counts.clear()
        self.aws_seconds = self.aws_cpu_seconds = self.meter_seconds = 0.0

    def by_label(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(dict)
        for (label, operation), n in sorted(self.counts.items()):
            out[label][operation] = n
        return dict(out)


class CapacityMeter:
    """Reads the items a DynamoDB write touches before and after it (through an uncounted client) and prices
    reads from what they returned."""

    def __init__(self, client: Any, shape: TableShape) -> None:
        self.client = client
        self.shape = shape

    def _targets(self, operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
        """(table, key, transactional) of every item a write operation addresses."""

        def key_of(item: dict[str, Any]) -> dict[str, Any]:
            return {k: item[k] for k in self.shape.keys}

        if operation == "PutItem":
            return [(params["TableName"], key_of(params["Item"]), False)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(params["TableName"], params["Key"], False)]
        if operation == "TransactWriteItems":
            out = []
            for action in params["TransactItems"]:
                (_, op), *_ = action.items()
                out.append((op["TableName"], key_of(op["Item"]) if "Item" in op else op["Key"], True))
            return out
        if operation == "BatchWriteItem":
            out = []
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        out.append((table, key_of(request["PutRequest"]["Item"]), False))
                    else:
                        out.append((table, request["DeleteRequest"]["Key"], False))
            return out
        return []

    def _get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item

    def before(self, operation: str, params: dict[str, Any]) -> list[dict[str, Any] | None]:
        return [self._get(t, k) for t, k, _ in self._targets(operation, params)]

    def after(
        self,
        operation: str,
        params: dict[str, Any],
        response: dict[str, Any],
        before: list[dict[str, Any] | None] | None,
    ) -> Capacity:
        cap = Capacity()
        targets = self._targets(operation, params)
        if targets:
            for (table, key, tx), old in zip(targets, before or [None] * len(targets), strict=True):
                cap.add(write_capacity(self.shape, old, self._get(table, key), tx))
            return cap
        if operation == "GetItem":
            cap.read_units = read_capacity(item_size(response.get("Item")), bool(params.get("ConsistentRead")))
        elif operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                found = {
                    tuple(str(item[k]) for k in self.shape.keys): item
                    for item in response.get("Responses", {}).get(table, [])
                }
                for key in request["Keys"]:
                    item = found.get(tuple(str(key[k]) for k in self.shape.keys))
                    cap.read_units += read_capacity(item_size(item), bool(request.get("ConsistentRead")))
        elif operation in ("Query", "Scan"):
            size = sum(item_size(i) for i in response.get("Items", []))
            cap.read_units = read_capacity(size, bool(params.get("ConsistentRead")))
        return cap


def payload_chunks(params: dict[str, Any], operation: str) -> int:
    """Billable units of a messaging call: SQS and EventBridge bill per 64 KB chunk, SES per recipient."""
    if operation == "sqs.SendMessage":
        return max(1, math.ceil(len(str(params.get("MessageBody", "")).encode()) / 65536))
    if operation == "sqs.SendMessageBatch":
        total = sum(len(str(e.get("MessageBody", "")).encode()) for e in params.get("Entries", []))
        return max(1, math.ceil(total / 65536))
    if operation == "events.PutEvents":
        return sum(max(1, math.ceil(len(str(e.get("Detail", "")).encode()) / 65536)) for e in params.get("Entries", []))
    if operation == "sesv2.SendEmail":
        destination = params.get("Destination", {})
        return sum(len(destination.get(k, [])) for k in ("ToAddresses", "CcAddresses", "BccAddresses"))
    return 1
