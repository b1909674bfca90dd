"""Check 5: broken object-level authorisation (others' objects), function-level authorisation (missing role) and
mass assignment (fields a caller must not set), on every route, through the real handlers on moto."""

from __future__ import annotations

from typing import Any

import pytest

from tests.handlers.conftest import Stack

MOD = ["moderators"]


def _state(stack: Stack) -> list[dict[str, Any]]:
    return sorted(stack.table().scan()["Items"], key=lambda i: (i["PK"], i["SK"]))


@pytest.fixture
def world(stack: Stack) -> dict[str, str]:
    """An automatically removed case (author user-bob, reporter user-alice) and one waiting for a moderator."""
    stack.post_context("post-1001")
    removed = stack.report(sub="user-alice", post_id="post-1001")
    stack.post_context("post-2002", author="user-carl")
    in_review = stack.report(sub="user-dave", post_id="post-2002", category="contact_information", relationship="other")
    stack.run_pipeline()
    return {
        "report_id": removed["report_id"],
        "removed_case": removed["case_id"],
        "review_case": in_review["case_id"],
    }


def test_other_peoples_objects_are_not_found(stack: Stack, world: dict[str, str], record_property: Any) -> None:
    before = _state(stack)
    attempts = {
        "someone else's report": stack.http(
            "report_intake/get_report.json", path_params={"report_id": world["report_id"]}, sub="user-mallory"
        ),
        "a stranger's case file": stack.http(
            "case_api/get_case.json", path_params={"case_id": world["removed_case"]}, sub="user-mallory"
        ),
        "the case file, for its reporter": stack.http(
            "case_api/get_case.json", path_params={"case_id": world["removed_case"]}, sub="user-alice"
        ),
        "an appeal on a stranger's case": stack.http(
            "case_api/appeal_case.json",
            path_params={"case_id": world["removed_case"]},
            body={"reason": "let me in"},
            sub="user-mallory",
        ),
    }
    missing = stack.http("report_intake/get_report.json", path_params={"report_id": "r_missing"}, sub="user-mallory")
    for label, (status, body, _) in attempts.items():
        assert status == 404, (label, status, body)
        assert body == {"code": "not_found", "message": body["message"]}, label
        assert "user-" not in str(body), label
    assert attempts["someone else's report"][:2] == missing[:2]  # indistinguishable from a report that does not exist
    # and someone else's notification cursor is refused
    stack.http("case_api/my_notifications.json", sub="user-alice", query={"limit": "1"})
    _, page, _ = stack.http("case_api/my_notifications.json", sub="user-alice", query={"limit": "1"})
    if page.get("next_cursor"):
        status, _, _ = stack.http(
            "case_api/my_notifications.json", sub="user-mallory", query={"cursor": page["next_cursor"]}
        )
        assert status == 400
    assert _state(stack) == before
    record_property("figure", f"{len(attempts)} BOLA attempts -> 404")


def _role_cases(world: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, event file, invocation) for every staff action, by a caller who lacks the role."""
    review, removed = world["review_case"], world["removed_case"]
    decision = {"outcome": "remove", "rule_id": "PIM-12", "version": 1}
    appeal_decision = {"result": "uphold", "version": 1}
    user: dict[str, Any] = {"sub": "user-alice"}
    moderator: dict[str, Any] = {"sub": "mod-1", "groups": MOD}
    appeals: dict[str, Any] = {"sub": "app-1", "groups": ["appeals"]}
    platform: dict[str, Any] = {"platform": True}
    return [
        ("user lists the review queue", "case_api/list_cases.json", {**user, "query": {"queue": "review"}}),
        ("user lists the appeals queue", "case_api/list_cases.json", {**user, "query": {"queue": "appeals"}}),
        ("moderator lists the appeals queue", "case_api/list_cases.json", {**moderator, "query": {"queue": "appeals"}}),
        (
            "appeal reviewer lists the review queue",
            "case_api/list_cases.json",
            {**appeals, "query": {"queue": "review"}},
        ),
        ("platform lists the review queue", "case_api/list_cases.json", {**platform, "query": {"queue": "review"}}),
        (
            "appeal reviewer claims a review case",
            "case_api/claim_case.json",
            {**appeals, "path_params": {"case_id": review}},
        ),
        ("user decides", "case_api/decide_case.json", {**user, "path_params": {"case_id": review}, "body": decision}),
        (
            "appeal reviewer decides",
            "case_api/decide_case.json",
            {**appeals, "path_params": {"case_id": review}, "body": decision},
        ),
        (
            "platform decides",
            "case_api/decide_case.json",
            {**platform, "path_params": {"case_id": review}, "body": decision},
        ),
        (
            "moderator decides an appeal",
            "case_api/decide_appeal.json",
            {**moderator, "path_params": {"case_id": removed}, "body": appeal_decision},
        ),
        (
            "user decides an appeal",
            "case_api/decide_appeal.json",
            {**user, "path_params": {"case_id": removed}, "body": appeal_decision},
        ),
        (
            "moderator marks an account",
            "case_api/mark_dedicated_exposure.json",
            {**moderator, "path_params": {"account_id": "user-bob"}, "body": {"dedicated_to_exposure": True}},
        ),
        (
            "platform appeals",
            "case_api/appeal_case.json",
            {**platform, "path_params": {"case_id": removed}, "body": {"reason": "x"}},
        ),
        ("platform reports", "report_intake/submit_report.json", {**platform}),
        (
            "platform reads a report",
            "report_intake/get_report.json",
            {**platform, "path_params": {"report_id": world["report_id"]}},
        ),
        ("user sets post context", "report_intake/put_post_context.json", {**user}),
        ("moderator sets account context", "report_intake/put_account_context.json", {**moderator}),
        ("user sets media context", "report_intake/put_media_context.json", {**user}),
        ("moderator deletes a post", "report_intake/post_deleted.json", {**moderator}),
    ]


def test_callers_without_the_role_get_403(stack: Stack, world: dict[str, str], record_property: Any) -> None:
    """The gateway only checks the token (and the platform scope); the code checks the role on every action."""
    cases = _role_cases(world)
    before = _state(stack)
    for label, event_file, kwargs in cases:
        status, body, _ = stack.http(event_file, **kwargs)
        assert status == 403, (label, status, body)
        assert body["code"] == "forbidden", label
    assert _state(stack) == before and stack.depth("NotificationQueue") == 0
    record_property("figure", f"{len(cases)} BFLA attempts -> 403")


MASS = ("status", "reporter_id", "version", "case_id", "decided_by", "dedicated_to_exposure", "state", "erased_at")


def _body_routes(world: dict[str, str]) -> list[tuple[str, dict[str, Any], dict[str, Any], set[str]]]:
    """(event file, invocation, a valid body, fields the body may legitimately carry)."""
    return [
        (
            "report_intake/submit_report.json",
            {"sub": "user-erin"},
            {
                "post_id": "post-3003",
                "category": "private_media",
                "relationship": "other",
                "attestations": {"accurate_and_complete": True},
            },
            set(),
        ),
        (
            "report_intake/put_post_context.json",
            {"platform": True, "path_params": {"post_id": "post-3003"}},
            {"author_id": "user-bob", "created_at": "2026-11-20T10:00:00Z"},
            set(),
        ),
        (
            "report_intake/put_account_context.json",
            {"platform": True, "path_params": {"account_id": "user-bob"}},
            {"public_figure": False},
            set(),
        ),
        (
            "report_intake/put_media_context.json",
            {"platform": True, "path_params": {"media_id": "m-1"}},
            {"publicly_available": False},
            set(),
        ),
        (
            "case_api/decide_case.json",
            {"sub": "mod-1", "groups": MOD, "path_params": {"case_id": world["review_case"]}},
            {"outcome": "remove", "rule_id": "PIM-12", "version": 1},
            {"version"},
        ),
        (
            "case_api/appeal_case.json",
            {"sub": "user-bob", "path_params": {"case_id": world["removed_case"]}},
            {"reason": "I had permission"},
            set(),
        ),
        (
            "case_api/decide_appeal.json",
            {"sub": "app-1", "groups": ["appeals"], "path_params": {"case_id": world["removed_case"]}},
            {"result": "uphold", "version": 1},
            {"version"},
        ),
        (
            "case_api/mark_dedicated_exposure.json",
            {"sub": "admin-1", "groups": ["admins"], "path_params": {"account_id": "user-bob"}},
            {"dedicated_to_exposure": False},
            {"dedicated_to_exposure"},
        ),
    ]


def test_mass_assignment_is_422_on_every_body(stack: Stack, world: dict[str, str], record_property: Any) -> None:
    before = _state(stack)
    tried = 0
    for event_file, kwargs, valid, legitimate in _body_routes(world):
        for field in MASS:
            if field in legitimate:
                continue
            status, body, _ = stack.http(event_file, body={**valid, field: "x"}, **kwargs)
            tried += 1
            assert status == 422, (event_file, field, status, body)
            assert {"loc": ["body", field], "type": "extra_forbidden"} in [
                {"loc": e["loc"], "type": e["type"]} for e in body["errors"]
            ], (event_file, field)
    assert _state(stack) == before
    record_property("figure", f"{tried} mass-assignment bodies -> 422")
