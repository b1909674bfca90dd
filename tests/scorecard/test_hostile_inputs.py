"""Check 16: hostile inputs. Tampered, forged or replayed cursors are 400; duplicated JSON keys, oversized
integers and non-finite numbers are 422 before any handler logic; group claims grant a role only when named
exactly as API Gateway renders them."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.handlers.conftest import Stack


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


TAMPERED = [
    _b64({"LPK": "x"}),
    _b64({"LPK": None}),
    _b64({"LPK": {"S": "INBOX#user-alice"}, "LSK": {"N": "1"}}),
    "not-a-cursor",
    "e30.AAAA",
]


@pytest.fixture
def paged(stack: Stack) -> dict[str, str]:
    for i in range(3):
        stack.post_context(f"post-h{i}")
        stack.report(sub="user-alice", post_id=f"post-h{i}", category="contact_information", relationship="other")
    stack.run_pipeline()
    _, inbox, _ = stack.http("case_api/my_notifications.json", sub="user-alice", query={"limit": "1"})
    _, queue, _ = stack.http(
        "case_api/list_cases.json", sub="mod-1", groups=["moderators"], query={"queue": "review", "limit": "1"}
    )
    assert inbox["next_cursor"] and queue["next_cursor"]
    return {"inbox": inbox["next_cursor"], "queue": queue["next_cursor"]}


def test_every_tampered_cursor_is_a_400(stack: Stack, paged: dict[str, str], record_property: Any) -> None:
    _payload, signature = paged["inbox"].split(".")
    forged = [*TAMPERED, f"{_b64({'LPK': 'INBOX#user-bob', 'LSK': 'z', 'PK': 'a', 'SK': 'b'})}.{signature}"]
    tried = 0
    for cursor in forged:
        status, body, _ = stack.http("case_api/my_notifications.json", sub="user-alice", query={"cursor": cursor})
        assert (status, body["code"]) == (400, "invalid_cursor"), (cursor, status, body)
        status, body, _ = stack.http(
            "case_api/list_cases.json", sub="mod-1", groups=["moderators"], query={"queue": "review", "cursor": cursor}
        )
        assert (status, body["code"]) == (400, "invalid_cursor"), (cursor, status, body)
        tried += 2
    # a genuine cursor is bound to its caller and its query
    assert stack.http("case_api/my_notifications.json", sub="user-mallory", query={"cursor": paged["inbox"]})[0] == 400
    assert (
        stack.http(
            "case_api/list_cases.json",
            sub="mod-2",
            groups=["moderators"],
            query={"queue": "review", "cursor": paged["queue"]},
        )[0]
        == 400
    )
    assert stack.http("case_api/my_notifications.json", sub="user-alice", query={"cursor": paged["inbox"]})[0] == 200
    record_property("figure", f"{tried + 2} tampered or replayed cursors -> 400")


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        (
            '{"post_id": "post-1", "post_id": "post-2", "category": "name", "relationship": "other",'
            ' "attestations": {"accurate_and_complete": true}}',
            ["body", "post_id"],
        ),
        (
            '{"post_id": "post-1", "category": "name", "relationship": "other", "live_location": ' + "9" * 5000 + "}",
            ["body"],
        ),
        ('{"post_id": "post-1", "category": "name", "relationship": "other", "x": NaN}', ["body"]),
        ('{"post_id": "post-1", "category": "name", "relationship": "other", "x": 1e999}', ["body"]),
        ('{"post_id": "post-1", "category": "name", "relationship": "other", "x": 9007199254740993}', ["body"]),
    ],
    ids=["duplicate-key", "5000-digits", "nan", "infinity", "beyond-2^53"],
)
def test_ambiguous_json_is_a_422_before_any_handler(stack: Stack, raw: str, loc: list[str]) -> None:
    status, body, _ = stack.http("report_intake/submit_report.json", raw_body=raw, sub="user-alice")
    assert status == 422, body
    assert body["errors"][0]["loc"] == loc
    assert stack.table().scan()["Items"] == []


def test_a_representative_report_without_the_account_points_at_the_field(stack: Stack) -> None:
    status, body, _ = stack.http(
        "report_intake/submit_report.json",
        body={
            "post_id": "post-1",
            "category": "contact_information",
            "relationship": "authorized_representative",
            "attestations": {"accurate_and_complete": True, "representative_authority": True},
        },
        sub="user-alice",
    )
    assert status == 422
    assert [e["loc"] for e in body["errors"]] == [["body", "represented_account_id"]]


@pytest.mark.parametrize(
    "claim", ["[readers,moderators]", '["moderators"]', "[moderators,]", "['moderators']", "[Moderators]"]
)
def test_group_names_with_commas_or_quotes_grant_nothing(stack: Stack, claim: str) -> None:
    from consent_guard.auth import principal_from_event

    event = {"requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u", "cognito:groups": claim}}}}}
    assert principal_from_event(event).groups == frozenset()
    exact = {
        "requestContext": {"authorizer": {"jwt": {"claims": {"sub": "u", "cognito:groups": "[moderators appeals x]"}}}}
    }
    assert principal_from_event(exact).groups == {"moderators", "appeals"}
