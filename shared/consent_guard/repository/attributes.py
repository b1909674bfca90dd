"""DynamoDB attribute values <-> Python values, as boto3's TypeSerializer/TypeDeserializer do it (same types,
same decimal context, same errors), without importing boto3: numbers are Decimal (never float), sets are SS/NS/BS,
bytes are B, None is NULL. tests/unit/test_attributes.py checks it against boto3's on the same values."""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

# boto3.dynamodb.types.DYNAMODB_CONTEXT: DynamoDB's number range and 38 digits, anything inexact is an error
DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def _number(value: int | Decimal) -> str:
    return str(DYNAMODB_CONTEXT.create_decimal(value))


def _scalar_type(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return "N"
    if isinstance(value, str):
        return "S"
    if isinstance(value, bytes | bytearray):
        return "B"
    return None


def serialize(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Set):
        kinds = {_scalar_type(v) for v in value} or {"N"}  # boto3 makes an empty set an (invalid) empty NS
        if len(kinds) != 1 or None in kinds:
            raise TypeError(f"Unsupported type for a set: {value!r} (all numbers, all strings or all bytes)")
        kind = kinds.pop()
        if kind == "N":
            return {"NS": [_number(v) for v in value]}
        if kind == "S":
            return {"SS": list(value)}
        return {"BS": [bytes(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def deserialize(value: Mapping[str, Any]) -> Any:
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, data = next(iter(value.items()))
    if kind == "NULL":
        return None
    if kind == "BOOL":
        return bool(data)
    if kind == "N":
        return DYNAMODB_CONTEXT.create_decimal(data)
    if kind == "S":
        return data
    if kind == "B":
        return bytes(data)
    if kind == "NS":
        return {DYNAMODB_CONTEXT.create_decimal(v) for v in data}
    if kind == "SS":
        return set(data)
    if kind == "BS":
        return {bytes(v) for v in data}
    if kind == "L":
        return [deserialize(v) for v in data]
    if kind == "M":
        return {k: deserialize(v) for k, v in data.items()}
    raise TypeError(f"Dynamodb type {kind} is not supported")
