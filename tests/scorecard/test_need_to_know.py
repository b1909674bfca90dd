"""Check 15: views by need to know, and no existence oracle. The author sees a case only once a decision affects
them and never who handled it; reporters see the content decision and its reasons, never the author's account
measures or history; a case that exists and one that does not answer alike to whoever cannot see them."""

from __future__ import annotations

import re
from typing import Any

from consent_guard.ids import case_id_for
from tests.handlers.conftest import Stack

MOD = {"sub": "mod-1", "groups": ["moderators"]}
ACCOUNT_WORDS = re.compile(r"suspend|strike|repeat violation|locked|gesperrt|verwarnung|Sperre", re.IGNORECASE)


def _get(stack: Stack, case_id: str, **who: Any) -> tuple[int, dict[str, Any]]:
    status, body, _ = stack.http("case_api/get_case.json", path_params={"case_id": case_id}, **who)
    return status, body


def test_the_author_sees_nothing_before_a_decision_and_never_who_handled_it(stack: Stack) -> None:
    stack.post_context("post-n1", author="user-bob")
    accepted = stack.report(sub="user-rosa", post_id="post-n1", category="intimate_media", relationship="other")
    stack.run_pipeline()
    missing = _get(stack, "c_" + "a" * 24, sub="user-bob")
    assert _get(stack, accepted["case_id"], sub="user-bob") == missing == (404, missing[1])
    assert stack.http("case_api/claim_case.json", path_params={"case_id": accepted["case_id"]}, **MOD)[0] == 200
    _, staff = _get(stack, accepted["case_id"], **MOD)
    status, _, _ = stack.http(
        "case_api/decide_case.json",
        path_params={"case_id": accepted["case_id"]},
        body={"outcome": "remove", "rule_id": "PIM-10", "version": staff["case"]["version"]},
        **MOD,
    )
    assert status == 200
    status, view = _get(stack, accepted["case_id"], sub="user-bob")
    assert status == 200
    assert view["case"]["claimed_by"] is None and view["decision"]["decided_by"] is None
    assert view["case"]["review_priority"] is None and view["reports"] is None and view["events"] is None
    assert "mod-1" not in str(view) and "user-rosa" not in str(view)


def test_reporters_are_told_the_content_decision_never_the_authors_sanctions(stack: Stack) -> None:
    # a repeat author: the ladder suspends (decided by a person); the reporter hears only about the post
    stack.post_context("post-n2", author="user-bob")
    stack.post_context("post-n3", author="user-bob")
    for post_id, reporter in (("post-n2", "user-rosa"), ("post-n3", "user-dave")):
        accepted = stack.report(sub=reporter, post_id=post_id, category="contact_information", relationship="other")
        stack.run_pipeline()
        _, staff = _get(stack, accepted["case_id"], **MOD)
        status, decided, _ = stack.http(
            "case_api/decide_case.json",
            path_params={"case_id": accepted["case_id"]},
            body={"outcome": "remove", "rule_id": "PIM-12", "version": staff["case"]["version"]},
            **MOD,
        )
        assert status == 200, decided
        stack.run_pipeline()
    assert decided["decision"]["enforcement"] == "permanent_suspension"
    outcome = next(n for n in stack.inbox("user-dave") if n["kind"] == "outcome")
    assert not ACCOUNT_WORDS.search(outcome["body"]), outcome["body"]
    assert "PIM-E" not in outcome["body"]
    report = stack.report_view(accepted["report_id"], sub="user-dave")
    assert not ACCOUNT_WORDS.search(report["explanation"]) and report["rule_ids"] == ["PIM-12"]
    author = next(n for n in stack.inbox("user-bob") if n["kind"] == "statement_of_reasons" and "suspend" in n["body"])
    assert "lock on your account is lifted" not in author["body"]  # deletion lifts a lock, never a suspension


def test_existing_and_missing_cases_answer_alike_on_every_case_route(stack: Stack, record_property: Any) -> None:
    stack.post_context("post-n4", author="user-bob")
    accepted = stack.report(sub="user-rosa", post_id="post-n4", category="private_media", relationship="other")
    stack.run_pipeline()
    existing = case_id_for("post-n4", "private_media")
    assert existing == accepted["case_id"]
    missing = case_id_for("post-never-reported", "private_media")
    probes = {
        "get": ("case_api/get_case.json", None),
        "claim": ("case_api/claim_case.json", None),
        "decide": ("case_api/decide_case.json", {"outcome": "remove", "rule_id": "PIM-8", "version": 1}),
        "appeal": ("case_api/appeal_case.json", {"reason": "let me"}),
        "decide appeal": ("case_api/decide_appeal.json", {"result": "uphold", "version": 1}),
    }
    compared = 0
    for who in ({"sub": "user-mallory"}, {"sub": "user-rosa"}, {"sub": "user-bob"}):
        for label, (event, body) in probes.items():
            answers = [
                stack.http(event, path_params={"case_id": case_id}, body=body, **who)[:2]
                for case_id in (existing, missing)
            ]
            assert answers[0] == answers[1], (who, label, answers)
            assert answers[0][0] in (403, 404), (who, label, answers)
            compared += 1
    record_property("figure", f"{compared} probes: existing == missing")
