"""Check 14: nobody judges their own case. For every staff role: no claim, decision or appeal hearing on a case
about one's own content, one's own report, or one's own earlier decision; a refused claim records nothing, so the
independent reviewer is never blocked; admins do not decide review cases."""

from __future__ import annotations

from typing import Any

import pytest

from tests.handlers.conftest import Stack

ROLES = ("moderators", "appeals", "admins")


def _in_review(stack: Stack, author: str, reporter: str, post_id: str) -> str:
    stack.post_context(post_id, author=author)
    accepted = stack.report(sub=reporter, post_id=post_id, category="contact_information", relationship="other")
    stack.run_pipeline()
    return str(accepted["case_id"])


def _claim(stack: Stack, case_id: str, sub: str, groups: list[str]) -> tuple[int, dict[str, Any]]:
    status, body, _ = stack.http("case_api/claim_case.json", path_params={"case_id": case_id}, sub=sub, groups=groups)
    return status, body


def _decide(stack: Stack, case_id: str, sub: str, groups: list[str], version: int = 2) -> tuple[int, dict[str, Any]]:
    status, body, _ = stack.http(
        "case_api/decide_case.json",
        path_params={"case_id": case_id},
        body={"outcome": "remove", "rule_id": "PIM-12", "version": version},
        sub=sub,
        groups=groups,
    )
    return status, body


def _version(stack: Stack, case_id: str) -> int:
    _, view, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": case_id}, sub="mod-x", groups=["moderators"]
    )
    return int(view["case"]["version"])


@pytest.mark.parametrize("role", ROLES)
def test_no_role_acts_on_a_case_about_their_own_post_or_their_own_report(stack: Stack, role: str) -> None:
    insider = f"staff-{role}"
    own_post = _in_review(stack, author=insider, reporter="user-rosa", post_id=f"post-own-{role}")
    own_report = _in_review(stack, author="user-bob", reporter=insider, post_id=f"post-rep-{role}")
    for case_id in (own_post, own_report):
        status, body = _claim(stack, case_id, insider, [role, "moderators", "appeals"])
        assert status == 403 and body["code"] == "conflict_of_interest", (role, body)
        status, body = _decide(stack, case_id, insider, [role, "moderators"], _version(stack, case_id))
        assert status == 403 and body["code"] == "conflict_of_interest", (role, body)
        # nothing was recorded: an independent moderator claims and decides at once
        status, _ = _claim(stack, case_id, "mod-independent", ["moderators"])
        assert status == 200
        status, body = _decide(stack, case_id, "mod-independent", ["moderators"], _version(stack, case_id))
        assert status == 200, body


def test_the_author_who_appeals_cannot_hear_it_and_the_decider_cannot_reclaim_it(
    stack: Stack, record_property: Any
) -> None:
    case_id = _in_review(stack, author="app-author", reporter="user-rosa", post_id="post-appeal")
    assert _claim(stack, case_id, "mod-1", ["moderators"])[0] == 200
    assert _decide(stack, case_id, "mod-1", ["moderators"], _version(stack, case_id))[0] == 200
    status, _, _ = stack.http(
        "case_api/appeal_case.json",
        path_params={"case_id": case_id},
        body={"reason": "mine"},
        sub="app-author",
        groups=["appeals"],
    )
    assert status == 200
    refused = 0
    for sub, groups in (("app-author", ["appeals"]), ("mod-1", ["appeals", "moderators"])):
        for _ in range(3):
            status, body = _claim(stack, case_id, sub, groups)
            assert status == 403 and body["code"] == "conflict_of_interest", body
            refused += 1
        status, body, _ = stack.http(
            "case_api/decide_appeal.json",
            path_params={"case_id": case_id},
            body={"result": "overturn", "rule_id": "PIM-12", "version": _version(stack, case_id)},
            sub=sub,
            groups=groups,
        )
        assert status == 403 and body["code"] == "conflict_of_interest", body
    assert _claim(stack, case_id, "app-independent", ["appeals"])[0] == 200
    status, body, _ = stack.http(
        "case_api/decide_appeal.json",
        path_params={"case_id": case_id},
        body={"result": "uphold", "version": _version(stack, case_id)},
        sub="app-independent",
        groups=["appeals"],
    )
    assert status == 200, body
    record_property("figure", f"{refused} self-interested claims refused, the independent reviewer decided")


def test_admins_do_not_decide_review_cases(stack: Stack) -> None:
    case_id = _in_review(stack, author="user-bob", reporter="user-rosa", post_id="post-admin")
    status, body = _decide(stack, case_id, "admin-1", ["admins"], _version(stack, case_id))
    assert status == 403 and body["code"] == "forbidden"
    assert _claim(stack, case_id, "admin-1", ["admins"])[0] == 403
