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


@pytest.mark.parametrize("hot", [0, 5, moto_adapt.HOT_ITEMS])
def test_queries_see_exactly_what_a_full_pass_would_after_any_mix_of_writes(indexed: Any, hot: int) -> None:
    """Puts, in-place updates (moving an item between index partitions or out of the sparse index), deletes,
    committed and cancelled transactions, batch writes: every query answers what filtering all items would, whether
    the items were packed after every request (hot=0), some of them (5) or none (the default hot set)."""
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
        moto_adapt.trim(hot)
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
    # moto's own all_items, the full pass the adaptation's all_items falls back to outside a narrowed query
    monkeypatch.setattr(Table.all_items, "__moto_original__", full_pass)
    assert len(_queried(indexed, "G", "g0", "R")) == 10
    assert len(_queried(indexed, "PK", "p3", "SK")) == 1


def test_bounded_set_keeps_the_newest_members() -> None:
    kept = moto_adapt.BoundedSet(3, ["a", "b"])
    kept.update(["c", "d"])
    kept.add("b")  # seen again: newest now
    kept.add("e")
    assert sorted(kept) == ["b", "d", "e"] and "a" not in kept and len(kept) == 3


# ---------------------------------------------------------------- compact items


def test_compact_items_rely_on_the_item_and_dynamotype_they_were_written_for() -> None:
    assert moto_adapt.compact_sources_digest() == moto_adapt.COMPACT_SOURCES_SHA256


def test_compact_form_round_trips_every_attribute_type() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    wire = {
        "S": {"S": "text"},
        "N": {"N": "1.50"},
        "B": {"B": b"\x00\xffbytes"},
        "SS": {"SS": ["a", "b"]},
        "NS": {"NS": ["1", "2.5"]},
        "BS": {"BS": [b"x", b"y"]},
        "BOOL": {"BOOL": False},
        "NULL": {"NULL": True},
        "L": {"L": [{"S": "a"}, {"M": {"k": {"L": [{"N": "1"}, {"NULL": True}]}}}, {"B": b"z"}]},
        "M": {"M": {"nested": {"M": {"deep": {"SS": ["q"]}}}, "empty": {"M": {}}, "list": {"L": []}}},
    }
    attrs = {k: DynamoType(v) for k, v in wire.items()}
    decoded = moto_adapt.decode_attrs(moto_adapt.encode_attrs(attrs))
    assert type(decoded) is LimitedSizeDict
    assert decoded == attrs
    assert {k: v.to_regular_json() for k, v in decoded.items()} == {k: v.to_regular_json() for k, v in attrs.items()}

    def types(value: Any) -> Any:  # the same classes all the way down, not just equal values
        if isinstance(value, DynamoType):
            inner = value.value
            if isinstance(inner, list):
                inner = [types(v) for v in inner]
            elif isinstance(inner, dict):
                inner = {k: types(v) for k, v in inner.items()}
            return (type(value), value.type, type(value.value), inner)
        return (type(value), value)

    assert {k: types(v) for k, v in decoded.items()} == {k: types(v) for k, v in attrs.items()}


def test_stored_items_are_packed_between_requests_and_unpacked_on_use(indexed: Any) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    for i in range(10):
        indexed.put_item(
            TableName="g",
            Item={"PK": {"S": "p"}, "SK": {"S": f"s{i}"}, "G": {"S": "g"}, "R": {"S": "r"}, "M": {"M": {}}},
        )
    moto_adapt.trim(0)
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].tables["g"]
    stored = list(table.items[next(iter(table.items))].values())
    assert all(type(i) is moto_adapt.compact_item_class() and "_blob" in vars(i) for i in stored)
    assert all("_attrs" not in vars(i) for i in stored)
    got = indexed.get_item(TableName="g", Key={"PK": {"S": "p"}, "SK": {"S": "s3"}})["Item"]
    assert got == {"PK": {"S": "p"}, "SK": {"S": "s3"}, "G": {"S": "g"}, "R": {"S": "r"}, "M": {"M": {}}}
    assert sum("_attrs" in vars(i) for i in stored) == 1  # only what the request read
    indexed.update_item(
        TableName="g",
        Key={"PK": {"S": "p"}, "SK": {"S": "s3"}},
        UpdateExpression="SET M.k = :v",
        ExpressionAttributeValues={":v": {"N": "7"}},
    )
    moto_adapt.trim(0)  # the change made in place survives the packing
    got = indexed.get_item(TableName="g", Key={"PK": {"S": "p"}, "SK": {"S": "s3"}})["Item"]
    assert got["M"] == {"M": {"k": {"N": "7"}}}


def test_a_missed_lookup_leaves_no_empty_partition_behind(indexed: Any) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].tables["g"]
    for i in range(5):
        assert "Item" not in indexed.get_item(TableName="g", Key={"PK": {"S": f"nobody{i}"}, "SK": {"S": "x"}})
    indexed.transact_write_items(
        TransactItems=[
            {
                "ConditionCheck": {
                    "TableName": "g",
                    "Key": {"PK": {"S": "nobody-t"}, "SK": {"S": "x"}},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        ]
    )
    assert len(table.items) == 0
    with pytest.raises(indexed.exceptions.ClientError):  # moto's own validation still answers
        indexed.get_item(TableName="g", Key={"PK": {"S": "p"}})


def test_moto_keeps_no_copy_of_what_it_has_dropped(indexed: Any) -> None:
    """moto's BaseModel tracks every object it ever made (for its dashboard); after the adaptation, the Items of
    updates, copies and projections, and deleted SQS messages, are garbage once nobody holds them."""
    import gc

    from moto.dynamodb.models.dynamo_type import Item
    from moto.sqs.models import Message

    moto_adapt.trim(0)  # the hot set holds no item of an earlier test
    gc.collect()
    key = {"PK": {"S": "p"}, "SK": {"S": "s"}}
    indexed.put_item(TableName="g", Item={**key, "G": {"S": "g"}, "R": {"S": "r"}})
    for i in range(20):
        indexed.update_item(
            TableName="g", Key=key, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": str(i)}}
        )
        indexed.get_item(TableName="g", Key=key, ProjectionExpression="n")
    sqs = boto3.client("sqs", region_name="eu-west-1")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for i in range(20):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
        for message in sqs.receive_message(QueueUrl=url).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    moto_adapt.trim(0)
    gc.collect()
    assert len(Item.instances_tracked) == 0 and len(Message.instances_tracked) == 0  # type: ignore[attr-defined]
    assert sum(1 for o in gc.get_objects() if isinstance(o, Item)) <= 3
    assert sum(1 for o in gc.get_objects() if isinstance(o, Message)) <= 1


def test_threads_querying_one_table_at_once_each_get_their_own_partition(indexed: Any) -> None:
    # nothing serialises threads on in-process moto (the tests' concurrency checks) or on the bench's threaded
    # server: each query's narrowed candidates must stay its own (an override on the table object raced)
    import threading

    for g in ("a", "b"):
        for n in range(30):
            indexed.put_item(
                TableName="g",
                Item={"PK": {"S": f"{g}{n}"}, "SK": {"S": "x"}, "G": {"S": g}, "R": {"S": f"{n:03d}"}},
            )
    expected = {g: _expected(indexed, "G", g, "R") for g in ("a", "b")}
    problems: list[str] = []

    def run(g: str) -> None:
        for _ in range(40):
            try:
                got = _queried(indexed, "G", g, "R")
            except Exception as exc:  # the race showed as a KeyError out of moto's query
                problems.append(f"{g}: {type(exc).__name__}")
                return
            if got != expected[g]:
                problems.append(f"{g}: another partition's items")
                return

    threads = [threading.Thread(target=run, args=(g,)) for g in ("a", "b", "a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
