"""The repository's attribute (de)serializer agrees with boto3's, which it replaces to keep boto3 out of the
functions' import graphs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from consent_guard.repository.attributes import deserialize, serialize

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -17,
    10**30,
    Decimal("3.14159"),
    Decimal("-0.000001"),
    "",
    "text ü",
    b"\x00\xff",
    {"a", "b"},
    {1, Decimal("2.5")},
    {b"x", b"y"},
    [],
    [1, "two", None, [True], {"k": Decimal("1.0")}],
    {},
    {"nested": {"list": [1, 2], "set": {"x"}, "none": None}},
    (1, 2),
    set(),
]


def _normal(value: Any) -> Any:
    """boto3 wraps B in Binary; we return bytes."""
    if isinstance(value, Binary):
        return bytes(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, set):
        return {_normal(v) for v in value}
    return value


def _sets_sorted(av: Any) -> Any:
    if isinstance(av, dict):
        return {k: sorted(v, key=repr) if k in ("SS", "NS", "BS") else _sets_sorted(v) for k, v in av.items()}
    if isinstance(av, list):
        return [_sets_sorted(v) for v in av]
    return av


@pytest.mark.parametrize("value", VALUES, ids=[type(v).__name__ + str(i) for i, v in enumerate(VALUES)])
def test_serialize_and_deserialize_like_boto3(value: Any) -> None:
    ours = serialize(value)
    theirs = TypeSerializer().serialize(value)
    assert _sets_sorted(ours) == _sets_sorted(theirs)
    assert deserialize(ours) == _normal(TypeDeserializer().deserialize(theirs))


@pytest.mark.parametrize(
    "value",
    [1.5, {1, "a"}, Decimal("1e200"), Decimal("1." + "1" * 40), object()],
    ids=["float", "mixed-set", "overflow", "too-precise", "object"],
)
def test_rejects_what_boto3_rejects(value: Any) -> None:
    with pytest.raises(Exception) as theirs:
        TypeSerializer().serialize(value)
    with pytest.raises(type(theirs.value)):
        serialize(value)
