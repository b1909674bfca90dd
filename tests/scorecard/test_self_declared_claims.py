"""Check 13: reporting cannot be weaponised. Self-declared claims hide at most the post; no automated path
suspends; an unconfirmed representative acts on nothing; a reporter's priority hints are bounded and rank below
what the platform confirms. Through the real handlers on moto."""

from __future__ import annotations

from typing import Any

from tests.handlers.conftest import Stack

ATTACKER = "user-mallory"


def _case(stack: Stack, case_id: str) -> dict[str, Any]:
    status, view, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": case_id}, sub="mod-1", groups=["moderators"]
    )
    assert status == 200, view
    return view


def _actions(stack: Stack) -> list[str]:
    return sorted(e["detail"]["action"] for e in stack.enforcement_events())


def test_one_self_declared_extortion_report_never_suspends(stack: Stack, record_property: Any) -> None:
    stack.post_context("post-x1", author="user-victim", media=0)
    status, accepted, _ = stack.http(
        "report_intake/submit_report.json",
        body={
            "post_id": "post-x1",
            "category": "extortion",
            "relationship": "self",
            "attestations": {"accurate_and_complete": True},
        },
        sub=ATTACKER,
    )
    assert status == 202
    stack.run_pipeline()
    view = _case(stack, accepted["case_id"])
    assert view["case"]["state"] == "in_review"
    assert "PIM-A4" in view["decision"]["rule_ids"]
    assert view["measures_active"] == ["content.hide"]
    assert _actions(stack) == ["content.hide"]
    assert (
        not stack.table().get_item(Key={"PK": "ACCOUNT#user-victim", "SK": f"STRIKE#{accepted['case_id']}"}).get("Item")
    )
    record_property("figure", "extortion/self/unconfirmed -> in_review + content.hide, no suspension")


def test_self_declared_intimate_media_goes_to_a_person_with_the_post_hidden(stack: Stack) -> None:
    stack.post_context("post-x2", author="user-victim")
    accepted = stack.report(sub=ATTACKER, post_id="post-x2", category="intimate_media", verified=False)
    stack.run_pipeline()
    view = _case(stack, accepted["case_id"])
    assert (view["case"]["state"], view["measures_active"]) == ("in_review", ["content.hide"])
    assert view["case"]["review_priority"] == 0
    assert "account.suspend" not in _actions(stack)


def test_two_self_declared_reports_hide_two_posts_and_touch_no_account(stack: Stack) -> None:
    stack.post_context("post-x3", author="user-victim")
    stack.post_context("post-x4", author="user-victim")
    first = stack.report(sub=ATTACKER, post_id="post-x3", category="contact_information", verified=False)
    stack.run_pipeline()
    second = stack.report(sub=ATTACKER, post_id="post-x4", category="contact_information", verified=False)
    stack.run_pipeline()
    for accepted in (first, second):
        view = _case(stack, accepted["case_id"])
        assert view["case"]["state"] == "actioned"
        assert view["decision"]["enforcement"] == "hide_content"
        assert "PIM-A1" in view["decision"]["rule_ids"]
        assert view["measures_active"] == ["content.hide"]
    assert _actions(stack) == ["content.hide", "content.hide"]
    strikes = stack.table().query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :s)",
        ExpressionAttributeValues={":pk": "ACCOUNT#user-victim", ":s": "STRIKE#"},
    )["Items"]
    assert strikes == []


def test_a_representative_of_an_unconfirmed_account_acts_on_nothing(stack: Stack) -> None:
    stack.post_context("post-x5", author="user-victim")
    status, accepted, _ = stack.http(
        "report_intake/submit_report.json",
        body={
            "post_id": "post-x5",
            "category": "home_address_or_location",
            "relationship": "authorized_representative",
            "represented_account_id": "someone-unknown",
            "attestations": {"accurate_and_complete": True, "representative_authority": True},
        },
        sub=ATTACKER,
    )
    assert status == 202
    stack.run_pipeline()
    view = _case(stack, accepted["case_id"])
    assert (view["case"]["state"], view["measures_active"]) == ("in_review", [])
    assert view["decision"]["rule_ids"] == ["PIM-A5"]
    assert _actions(stack) == []


def test_a_confirmed_claim_still_never_suspends_automatically(stack: Stack) -> None:
    stack.post_context("post-x6", author="user-victim")
    accepted = stack.report(sub="user-rosa", post_id="post-x6", category="intimate_media")  # platform-verified
    stack.run_pipeline()
    view = _case(stack, accepted["case_id"])
    assert view["case"]["state"] == "in_review" and "account.suspend" not in view["measures_active"]


def test_live_location_hints_are_bounded_and_rank_below_confirmed_signals(stack: Stack, record_property: Any) -> None:
    stack.post_context("post-genuine", author="user-victim", live_location=True)
    genuine = stack.report(
        sub="user-rosa", post_id="post-genuine", category="home_address_or_location", relationship="other"
    )
    flood = []
    for i in range(8):
        stack.post_context(f"post-flood-{i}", author="user-victim")
        flood.append(
            stack.report(
                sub=ATTACKER,
                post_id=f"post-flood-{i}",
                category="home_address_or_location",
                relationship="other",
                live_location=True,
            )
        )
    stack.run_pipeline()
    status, page, _ = stack.http(
        "case_api/list_cases.json", sub="mod-1", groups=["moderators"], query={"queue": "review", "limit": "50"}
    )
    assert status == 200
    order = [c["case_id"] for c in page["items"]]
    priorities = {c["case_id"]: c["review_priority"] for c in page["items"]}
    assert order[0] == genuine["case_id"] and priorities[genuine["case_id"]] == 0
    boosted = [a["case_id"] for a in flood if priorities[a["case_id"]] < 3]
    assert len(boosted) == 3 and all(priorities[c] == 2 for c in boosted)
    record_property("figure", f"8 live-location hints -> {len(boosted)} moved up, below the platform-confirmed case")
