"""The local stack's adaptation of moto's transactions: same outcomes as moto, without copying whole tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest
from moto import mock_aws

from local import moto_adapt


def test_written_for_the_pinned_moto() -> None:
    # An upgrade of moto must be a deliberate step: re-read the replaced method, then update both pins.
    assert moto.__version__ == moto_adapt.MOTO_VERSION
    assert moto_adapt.replaced_source_digest() == moto_adapt.REPLACED_SOURCE_SHA256


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    moto_adapt.apply()
    from moto.dynamodb.models.table import Table

    def no_table_copies(self: Any, memo: dict[int, Any]) -> Any:
        raise AssertionError("a transaction deep-copied a whole table")

    monkeypatch.setattr(Table, "__deepcopy__", no_table_copies, raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(50):
            client.put_item(TableName="t", Item={"PK": {"S": f"p{i}"}, "SK": {"S": "a"}, "n": {"N": "1"}})
        yield client


def _all(client: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.scan(TableName="t")["Items"]
    return sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


def test_a_cancelled_transaction_leaves_every_item_as_it_was(table: Any) -> None:
    before = _all(table)
    with pytest.raises(table.exceptions.TransactionCanceledException) as raised:
        table.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"PK": {"S": "new"}, "SK": {"S": "a"}}}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"PK": {"S": "p1"}, "SK": {"S": "a"}},
                        "UpdateExpression": "SET n = n + :one, extra = :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Delete": {"TableName": "t", "Key": {"PK": {"S": "p2"}, "SK": {"S": "a"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"PK": {"S": "p3"}, "SK": {"S": "a"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    reasons = raised.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"]["PK"] == {"S": "p3"}  # ALL_OLD, as moto returns it
    assert _all(table) == before


def test_a_committed_transaction_applies_every_write(table: Any) -> None:
    table.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "new"}, "SK": {"S": "a"}}}},
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"PK": {"S": "p1"}, "SK": {"S": "a"}},
                    "UpdateExpression": "SET n = n + :one",
                    "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": "t", "Key": {"PK": {"S": "p2"}, "SK": {"S": "a"}}}},
        ]
    )
    keys = {i["PK"]["S"] for i in _all(table)}
    assert "new" in keys and "p2" not in keys
    p1 = table.get_item(TableName="t", Key={"PK": {"S": "p1"}, "SK": {"S": "a"}})["Item"]
    assert p1["n"] == {"N": "2"}


def test_two_operations_on_one_item_are_refused_and_nothing_is_written(table: Any) -> None:
    before = _all(table)
    with pytest.raises(table.exceptions.ClientError):
        table.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"PK": {"S": "new"}, "SK": {"S": "a"}}}},
                {"Delete": {"TableName": "t", "Key": {"PK": {"S": "new"}, "SK": {"S": "a"}}}},
            ]
        )
    assert _all(table) == before


def test_wrapped_methods_are_the_ones_it_was_written_for() -> None:
    assert moto_adapt.wrapped_sources_digest() == moto_adapt.WRAPPED_SOURCES_SHA256


@pytest.fixture
def indexed() -> Iterator[Any]:
    moto_adapt.apply()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(
            TableName="g",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "G", "R")],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "ByG",
                    "KeySchema": [
                        {"AttributeName": "G", "KeyType": "HASH"},
                        {"AttributeName": "R", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _expected(client: Any, attr: str, value: str, order: str) -> list[tuple[str, str]]:
    items = [i for i in client.scan(TableName="g")["Items"] if i.get(attr, {}).get("S") == value]
    if attr == "G":
        items = [i for i in items if "R" in i]
    return sorted((i[order]["S"], i["PK"]["S"] + "/" + i["SK"]["S"]) for i in items)


def _queried(client: Any, attr: str, value: str, order: str) -> list[tuple[str, str]]:
    kwargs: dict[str, Any] = {"IndexName": "ByG"} if attr == "G" else {}
    out: list[tuple[str, str]] = []
    start: dict[str, Any] | None = None
    while True:
        page = client.query(
            TableName="g",
            KeyConditionExpression="#a = :v",
            ExpressionAttributeNames={"#a": attr},
            ExpressionAttributeValues={":v": {"S": value}},
            Limit=3,
            **kwargs,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        out += [(i[order]["S"], i["PK"]["S"] + "/" + i["SK"]["S"]) for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            return sorted(out)


def test_queries_see_exactly_what_a_full_pass_would_after_any_mix_of_writes(indexed: Any) -> None:
    """Puts, in-place updates (moving an item between index partitions or out of the sparse index), deletes,
    committed and cancelled transactions, batch writes: every query answers what filtering all items would."""
    import random

    rng = random.Random(11)
    pks, sks, gs = [f"p{i}" for i in range(6)], [f"s{i}" for i in range(4)], ["g0", "g1", "g2"]

    def key() -> dict[str, Any]:
        return {"PK": {"S": rng.choice(pks)}, "SK": {"S": rng.choice(sks)}}

    for step in range(150):
        op = rng.choice(["put", "update", "remove_g", "delete", "transact", "transact_fail", "batch"])
        if op == "put":
            indexed.put_item(TableName="g", Item={**key(), "G": {"S": rng.choice(gs)}, "R": {"S": f"r{step:03}"}})
        elif op == "update":
            indexed.update_item(
                TableName="g",
                Key=key(),
                UpdateExpression="SET G = :g, R = :r",
                ExpressionAttributeValues={":g": {"S": rng.choice(gs)}, ":r": {"S": f"r{step:03}"}},
            )
        elif op == "remove_g":
            indexed.update_item(TableName="g", Key=key(), UpdateExpression="REMOVE G")
        elif op == "delete":
            indexed.delete_item(TableName="g", Key=key())
        elif op in ("transact", "transact_fail"):
            first, second = key(), key()
            if first == second:
                continue
            actions: list[dict[str, Any]] = [
                {"Put": {"TableName": "g", "Item": {**first, "G": {"S": rng.choice(gs)}, "R": {"S": f"t{step}"}}}},
                {
                    "Update": {
                        "TableName": "g",
                        "Key": second,
                        "UpdateExpression": "SET G = :g, R = :r",
                        "ExpressionAttributeValues": {":g": {"S": rng.choice(gs)}, ":r": {"S": f"u{step}"}},
                    }
                },
            ]
            if op == "transact_fail":
                actions.append(
                    {
                        "ConditionCheck": {
                            "TableName": "g",
                            "Key": {"PK": {"S": "never"}, "SK": {"S": "x"}},
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    }
                )
            try:
                indexed.transact_write_items(TransactItems=actions)
            except indexed.exceptions.TransactionCanceledException:
                assert op == "transact_fail"
        else:
            requests = {}
            for _ in range(3):
                k = key()
                requests[(k["PK"]["S"], k["SK"]["S"])] = (
                    {"DeleteRequest": {"Key": k}}
                    if rng.random() < 0.4
                    else {"PutRequest": {"Item": {**k, "G": {"S": rng.choice(gs)}, "R": {"S": f"b{step}"}}}}
                )
            indexed.batch_write_item(RequestItems={"g": list(requests.values())})
        checked_g, checked_pk = (gs, pks) if step % 25 == 24 else ([rng.choice(gs)], [rng.choice(pks)])
        for g in checked_g:
            assert _queried(indexed, "G", g, "R") == _expected(indexed, "G", g, "R"), (step, op, g)
        for pk in checked_pk:
            assert _queried(indexed, "PK", pk, "SK") == _expected(indexed, "PK", pk, "SK"), (step, op, pk)


def test_a_query_reads_its_partition_not_the_table(indexed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.table import Table

    for i in range(20):
        indexed.put_item(
            TableName="g", Item={"PK": {"S": f"p{i}"}, "SK": {"S": "a"}, "G": {"S": f"g{i % 2}"}, "R": {"S": "r"}}
        )

    def full_pass(self: Any) -> Any:
        raise AssertionError("the query read every item of the table")

    _queried(indexed, "G", "g0", "R")  # the first query on an index builds its map: once, O(table)
    monkeypatch.setattr(Table, "all_items", full_pass)
    assert len(_queried(indexed, "G", "g0", "R")) == 10
    assert len(_queried(indexed, "PK", "p3", "SK")) == 1


def test_bounded_set_keeps_the_newest_members() -> None:
    kept = moto_adapt.BoundedSet(3, ["a", "b"])
    kept.update(["c", "d"])
    kept.add("b")  # seen again: newest now
    kept.add("e")
    assert sorted(kept) == ["b", "d", "e"] and "a" not in kept and len(kept) == 3
