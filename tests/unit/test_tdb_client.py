"""The fake Transparency Database answers as the real one does, and the client retries what it should, as it should
(in process: the fake's transport, no sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consent_guard.transparency_db import TdbClient, TdbUnauthorized, TdbUnavailable
from local.tdb import NOT_UNIQUE_MANY, NOT_UNIQUE_ONE, FakeTransparencyDatabase
from tests.unit.test_tdb_model import VALID

TOKEN = "unit-token"


def client(database: FakeTransparencyDatabase, sleeps: list[float] | None = None, **kwargs: Any) -> TdbClient:
    return TdbClient(
        "http://fake",
        lambda: TOKEN,
        transport=database.transport,
        sleep=(sleeps if sleeps is not None else []).append,
        jitter=lambda: 1.0,
        **kwargs,
    )


def one(puid: str = "cg-c_a-3", **changes: Any) -> dict[str, Any]:
    return {**VALID, "puid": puid, **changes}


def test_a_batch_is_created_with_uuid_and_permalink() -> None:
    database = FakeTransparencyDatabase(TOKEN, 0)
    reply = client(database).submit_batch([one("cg-1"), one("cg-2")])
    assert reply.status == 201
    assert [s["puid"] for s in reply.body["statements"]] == ["cg-1", "cg-2"]
    assert all(s["uuid"] and s["permalink"].endswith(s["uuid"]) for s in reply.body["statements"])


def test_one_invalid_statement_fails_the_batch_keyed_by_its_index_and_nothing_is_created() -> None:
    database = FakeTransparencyDatabase(TOKEN, 0)
    reply = client(database).submit_batch(
        [one("cg-1"), one("cg-2", category="STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR")]
    )
    assert reply.status == 422
    assert list(reply.body["errors"]) == ["statement_1"] and "category" in reply.body["errors"]["statement_1"]
    assert database.accepted() == []


def test_duplicate_puids_are_422_with_the_existing_ones_and_the_lookup_finds_them() -> None:
    database = FakeTransparencyDatabase(TOKEN, 0)
    tdb = client(database)
    assert tdb.submit_batch([one("cg-1")]).status == 201
    reply = tdb.submit_batch([one("cg-1"), one("cg-2")])
    assert reply.status == 422 and reply.body["message"] == NOT_UNIQUE_MANY
    assert reply.body["errors"]["existing_puids"] == ["cg-1"]
    assert tdb.submit_batch([one("cg-3"), one("cg-3")]).body["errors"]["existing_puids"] == ["cg-3"]  # in one call
    single = tdb.submit_one(one("cg-1"))
    assert single.status == 422 and single.body["errors"]["puid"] == [NOT_UNIQUE_ONE] and single.body["existing"]
    assert tdb.puid_exists("cg-1") is True and tdb.puid_exists("cg-9") is False
    assert len(database.accepted()) == 1


@pytest.mark.parametrize("size", [0, 101])
def test_a_batch_is_1_to_100(size: int) -> None:
    reply = client(FakeTransparencyDatabase(TOKEN, 0)).submit_batch([one(f"cg-{i}") for i in range(size)])
    assert reply.status == 422 and "statements" in reply.body["errors"]


def test_a_wrong_token_is_401_and_the_client_says_so_without_retrying() -> None:
    database = FakeTransparencyDatabase("another-token", 0)
    with pytest.raises(TdbUnauthorized):
        client(database).submit_batch([one()])
    assert database.requests == 1


def test_above_the_rate_the_fake_answers_429_with_retry_after() -> None:
    database = FakeTransparencyDatabase(TOKEN, max_requests_per_second=2)
    headers = {"authorization": f"Bearer {TOKEN}"}
    body = json.dumps({"statements": [one()]}).encode()
    answers = [database.handle("GET", "/api/v1/statement/existing-puid/x", headers, b"") for _ in range(3)]
    assert [a[0] for a in answers if a] == [404, 404, 429]
    assert answers[2] is not None and answers[2][2]["retry-after"] == "1"
    assert database.handle("POST", "/api/v1/statements", headers, body) is not None


def test_429_5xx_and_timeouts_are_retried_with_capped_exponential_backoff() -> None:
    database = FakeTransparencyDatabase(TOKEN, 0)
    database.inject(503, "timeout", 500, 502, 504, 429)
    sleeps: list[float] = []
    reply = client(database, sleeps, attempts=7, base_delay=0.5, max_delay=4.0).submit_batch([one()])
    assert reply.status == 201 and database.requests == 7
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]  # jitter pinned to its top: the cap holds


def test_retry_after_is_honoured_and_jitter_spreads_the_delay() -> None:
    database = FakeTransparencyDatabase(TOKEN, 0)
    database.inject(429)
    sleeps: list[float] = []
    tdb = TdbClient("http://fake", lambda: TOKEN, transport=database.transport, sleep=sleeps.append, jitter=lambda: 0.1)
    assert tdb.submit_batch([one()]).status == 201
    assert sleeps == [0.05]  # the fake's Retry-After is 0; full jitter: 0.1 x 0.5
    assert tdb._delay(1, retry_after=3.0) == 3.0


def test_retries_stop_when_the_budget_is_spent() -> None:
    database = FakeTransparencyDatabase(TOKEN, 0)
    database.inject(*[503] * 5)
    with pytest.raises(TdbUnavailable):
        client(database, budget=lambda: 0.1).submit_batch([one()])
    assert database.requests == 1


def test_an_unknown_existing_puid_answer_is_not_taken_for_found() -> None:
    database = FakeTransparencyDatabase(TOKEN, 0)
    database.inject(*[500] * 5)
    with pytest.raises(TdbUnavailable):
        client(database).puid_exists("cg-1")
