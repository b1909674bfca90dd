"""Statements of reasons reach the (fake) EU Transparency Database end to end over HTTP: every automated and human
decision that restricts content or an account is accepted exactly once, and staff see its uuid and permalink."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LocalStackHandle
from tests.e2e.test_story import World, _wait

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(local_stack: LocalStackHandle) -> World:
    return World(local_stack)


def _staff_case(world: World, case_id: str) -> dict[str, Any]:
    response = world.stack.as_user("mod-e2e", groups=["moderators"]).get(f"/cases/{case_id}")
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


def _accepted(world: World, puid: str) -> list[dict[str, Any]]:
    return [s for s in world.stack.tdb()["statements"] if s["puid"] == puid]


def _delivered(world: World, case_id: str) -> dict[str, Any]:
    """Run the submitter (its schedule, on demand) until the case's statement is accepted; return the staff view."""

    def submitted() -> dict[str, Any] | None:
        result = world.stack.submit_statements()
        assert "error" not in result, result
        view = _staff_case(world, case_id)
        return view if view["statements"] and view["statements"][0]["status"] == "submitted" else None

    return _wait(submitted, f"the statement of case {case_id} accepted")


def test_an_automated_removal_is_accepted_once_with_its_uuid_and_permalink(world: World) -> None:
    post_id = world.post("post")
    accepted = world.report("alice", post_id).json()
    assert world.wait_for_status("alice", accepted["report_id"])["outcome"] == "remove"

    view = _delivered(world, accepted["case_id"])

    [statement] = view["statements"]
    seq = next(e["seq"] for e in view["events"] if e["type"] == "enforcement_applied")
    assert statement["puid"] == f"cg-{accepted['case_id']}-{seq}"
    [stored] = _accepted(world, statement["puid"])
    assert statement["tdb_uuid"] == stored["uuid"] and statement["permalink"] == stored["permalink"]
    assert stored["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert stored["category_specification"] == ["KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"]
    assert world.id("alice") not in str(stored) and world.id("author") not in str(stored) and post_id not in str(stored)

    world.stack.submit_statements()  # again: nothing is sent twice
    assert len(_accepted(world, statement["puid"])) == 1


def test_a_moderators_removal_is_accepted_once_as_not_automated(world: World) -> None:
    post_id = world.post("post")
    accepted = world.report("dave", post_id, category="contact_information", relationship="other").json()
    assert world.wait_for_status("dave", accepted["report_id"])["status"] != "received"
    case = _staff_case(world, accepted["case_id"])
    assert case["case"]["state"] == "in_review" and case["statements"] == []

    moderator = world.stack.as_user("mod-e2e", groups=["moderators"])
    response = moderator.post(
        f"/cases/{accepted['case_id']}/decisions",
        json={"outcome": "remove", "rule_id": "PIM-12", "version": case["case"]["version"]},
    )
    assert response.status_code == 200, response.text

    view = _delivered(world, accepted["case_id"])
    [stored] = _accepted(world, view["statements"][0]["puid"])
    assert stored["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert stored["category"] == "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    assert world.stack.tdb()["answers"].get("422", 0) == 0
