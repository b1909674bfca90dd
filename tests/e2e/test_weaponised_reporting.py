"""Issue 13 replayed over real HTTP against the local stack: each finding, and what it now answers."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from consent_guard.ids import case_id_for
from tests.e2e.conftest import LocalStackHandle
from tests.e2e.test_story import World, _wait

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(local_stack: LocalStackHandle) -> World:
    return World(local_stack)


def _staff(world: World, name: str, *groups: str) -> httpx.Client:
    return world.stack.as_user(world.id(name), groups=groups)


def _case(world: World, case_id: str) -> dict[str, Any]:
    response = _staff(world, "mod-reader", "moderators").get(f"/cases/{case_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _wait_state(world: World, case_id: str, *states: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        response = _staff(world, "mod-reader", "moderators").get(f"/cases/{case_id}")
        view: dict[str, Any] = response.json()
        return view if response.status_code == 200 and view["case"]["state"] in states else None

    view: dict[str, Any] = _wait(reached, f"case {case_id} in {states}")
    return view


def _actions(world: World, case_id: str) -> list[str]:
    return sorted(e["detail"]["action"] for e in world.events_of(case_id))


# 1 -----------------------------------------------------------------------------------------------------------------


def test_finding_1_one_account_cannot_get_an_author_suspended(world: World) -> None:
    extortion = world.post("extortion-post")
    response = world.person("mallory").post(
        "/reports",
        json={
            "post_id": extortion,
            "category": "extortion",
            "relationship": "self",
            "attestations": {"accurate_and_complete": True},
        },
    )
    assert response.status_code == 202
    view = _wait_state(world, response.json()["case_id"], "in_review")
    assert view["measures_active"] == ["content.hide"] and "PIM-A4" in view["decision"]["rule_ids"]

    intimate = world.post("intimate-post")
    response = world.report("mallory", intimate, category="intimate_media", verified=False)
    view = _wait_state(world, response.json()["case_id"], "in_review")
    assert "account.suspend" not in view["measures_active"]

    for name in ("contact-1", "contact-2"):
        post_id = world.post(name)
        response = world.report("mallory", post_id, category="contact_information", verified=False)
        view = _wait_state(world, response.json()["case_id"], "actioned")
        assert view["decision"]["enforcement"] == "hide_content" and view["measures_active"] == ["content.hide"]

    represented = world.post("represented-post")
    response = world.person("mallory").post(
        "/reports",
        json={
            "post_id": represented,
            "category": "home_address_or_location",
            "relationship": "authorized_representative",
            "represented_account_id": world.id("nobody"),
            "attestations": {"accurate_and_complete": True, "representative_authority": True},
        },
    )
    view = _wait_state(world, response.json()["case_id"], "in_review")
    assert view["measures_active"] == [] and view["decision"]["rule_ids"] == ["PIM-A5"]
    assert not any(e["detail"]["action"] == "account.suspend" for e in world.stack.events() if world.tag in str(e))


# 2 -----------------------------------------------------------------------------------------------------------------


def test_finding_2_staff_cannot_rule_on_their_own_cases(world: World) -> None:
    post_id = world.post("staff-post", author="insider")
    response = world.report("rosa", post_id, relationship="other", category="contact_information")
    case_id = response.json()["case_id"]
    view = _wait_state(world, case_id, "in_review")
    insider = _staff(world, "insider", "moderators", "appeals", "admins")
    assert insider.post(f"/cases/{case_id}/claim").json()["code"] == "conflict_of_interest"
    decided = insider.post(
        f"/cases/{case_id}/decisions",
        json={"outcome": "no_violation", "rule_id": "PIM-12", "version": view["case"]["version"]},
    )
    assert decided.status_code == 403 and decided.json()["code"] == "conflict_of_interest"
    admin = _staff(world, "admin", "admins")
    assert (
        admin.post(
            f"/cases/{case_id}/decisions",
            json={"outcome": "remove", "rule_id": "PIM-12", "version": view["case"]["version"]},
        ).status_code
        == 403
    )
    moderator = _staff(world, "mod-1", "moderators")
    assert moderator.post(f"/cases/{case_id}/claim").status_code == 200
    decided = moderator.post(
        f"/cases/{case_id}/decisions",
        json={"outcome": "remove", "rule_id": "PIM-12", "version": view["case"]["version"] + 1},
    )
    assert decided.status_code == 200, decided.text
    appeal = world.stack.as_user(world.id("insider"), groups=["appeals"]).post(
        f"/cases/{case_id}/appeals", json={"reason": "it is fine"}
    )
    assert appeal.status_code == 200, appeal.text
    decider = _staff(world, "mod-1", "moderators", "appeals")
    for _ in range(3):
        assert decider.post(f"/cases/{case_id}/claim").json()["code"] == "conflict_of_interest"
    assert insider.post(f"/cases/{case_id}/claim").json()["code"] == "conflict_of_interest"
    reviewer = _staff(world, "reviewer", "appeals")
    assert reviewer.post(f"/cases/{case_id}/claim").status_code == 200


# 3 -----------------------------------------------------------------------------------------------------------------


def test_finding_3_reporters_cannot_jump_the_queue(world: World) -> None:
    genuine = world.post("live-genuine", live_location=True)
    genuine_case = world.report("rosa", genuine, relationship="other", category="home_address_or_location").json()
    flood = []
    for i in range(6):
        post_id = world.post(f"flood-{i}")
        flood.append(
            world.report(
                "mallory", post_id, relationship="other", category="home_address_or_location", live_location=True
            ).json()["case_id"]
        )
    for case_id in (genuine_case["case_id"], *flood):
        _wait_state(world, case_id, "in_review")
    priorities = {c: _case(world, c)["case"]["review_priority"] for c in flood}
    assert sorted(priorities.values()) == [2, 2, 2, 3, 3, 3]
    assert _case(world, genuine_case["case_id"])["case"]["review_priority"] == 0


# 4 and 5 -----------------------------------------------------------------------------------------------------------


def test_finding_4_and_5_need_to_know_and_no_existence_oracle(world: World) -> None:
    post_id = world.post("pending-intimate")
    case_id = world.report("rosa", post_id, relationship="other", category="intimate_media").json()["case_id"]
    _wait_state(world, case_id, "in_review")
    author = world.person("author")
    missing = case_id_for(world.id("never-reported"), "intimate_media")
    assert author.get(f"/cases/{case_id}").status_code == author.get(f"/cases/{missing}").status_code == 404
    stranger = world.person("mallory")
    for path in ("claim", "appeals"):
        body = {"reason": "x"} if path == "appeals" else None
        answers = [stranger.post(f"/cases/{c}/{path}", json=body) for c in (case_id, missing)]
        assert [a.status_code for a in answers] == [404, 404], path
        assert answers[0].json() == answers[1].json()
    moderator = _staff(world, "mod-2", "moderators")
    assert moderator.post(f"/cases/{case_id}/claim").status_code == 200
    assert author.get(f"/cases/{case_id}").status_code == 404  # still nothing decided
    version = _case(world, case_id)["case"]["version"]
    decided = moderator.post(
        f"/cases/{case_id}/decisions", json={"outcome": "remove", "rule_id": "PIM-10", "version": version}
    )
    assert decided.status_code == 200, decided.text
    view = author.get(f"/cases/{case_id}").json()
    assert view["case"]["claimed_by"] is None and view["decision"]["decided_by"] is None
    assert world.id("mod-2") not in json.dumps(view)
    items = world.wait_for_inbox("rosa", "outcome")
    outcome = next(n for n in items if n["kind"] == "outcome")
    for word in ("suspend", "strike", "Repeat violation", "locked"):
        assert word not in outcome["body"]


# 6 -----------------------------------------------------------------------------------------------------------------


def test_finding_6_a_first_person_report_is_never_lost(world: World) -> None:
    post_id = world.post("depicted")
    first = world.report("dana", post_id, relationship="other").json()
    _wait_state(world, first["case_id"], "awaiting_first_person")
    second = world.report("dana", post_id, relationship="self")
    assert second.status_code == 202 and "idempotent-replayed" not in second.headers
    assert second.json()["report_id"] == first["report_id"] and second.json()["amended"] is True
    _wait_state(world, first["case_id"], "actioned")

    info = world.post("phone", author="other-author")  # the first author now has a strike (the ladder would suspend)
    response = world.person("erin").post(
        "/reports",
        json={
            "post_id": info,
            "category": "contact_information",
            "relationship": "self",
            "attestations": {"accurate_and_complete": True},
        },
    )
    accepted = response.json()
    assert accepted["missing_confirmations"] == ["information_is_mine", "not_published_elsewhere"]
    assert accepted["add_confirmations"] == f"/reports/{accepted['report_id']}/confirmations"
    receipt = next(n for n in world.wait_for_inbox("erin", "receipt") if n["kind"] == "receipt")
    assert "missing confirmations" in receipt["body"] and accepted["add_confirmations"] in receipt["body"]
    _wait_state(world, accepted["case_id"], "in_review")
    world.verify("erin", info)
    added = world.person("erin").post(
        accepted["add_confirmations"], json={"information_is_mine": True, "not_published_elsewhere": True}
    )
    assert added.status_code == 202 and added.json()["missing_confirmations"] == []
    _wait_state(world, accepted["case_id"], "actioned")


# 7 -----------------------------------------------------------------------------------------------------------------


def test_finding_7_notices_and_errors_that_fit(world: World) -> None:
    response = world.person("rosa").post(
        "/reports",
        json={
            "post_id": world.id("p"),
            "category": "contact_information",
            "relationship": "authorized_representative",
            "attestations": {"accurate_and_complete": True, "representative_authority": True},
        },
    )
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "represented_account_id"]]

    post_id = world.post("kept")
    accepted = world.report("rosa", post_id, relationship="other", category="contact_information").json()
    view = _wait_state(world, accepted["case_id"], "in_review")
    moderator = _staff(world, "mod-3", "moderators")
    decided = moderator.post(
        f"/cases/{accepted['case_id']}/decisions",
        json={"outcome": "no_violation", "rule_id": "PIM-12", "version": view["case"]["version"]},
    )
    assert decided.status_code == 200, decided.text
    rosa = world.person("rosa")
    assert rosa.post(f"/cases/{accepted['case_id']}/appeals", json={"reason": "wrong"}).status_code == 404
    appealed = rosa.post(f"/reports/{accepted['report_id']}/appeals", json={"reason": "it is my number"})
    assert appealed.status_code == 200, appealed.text
    assert appealed.json()["status"] == "under_review"


# 8 -----------------------------------------------------------------------------------------------------------------


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def test_finding_8_hostile_inputs_are_4xx(world: World) -> None:
    person = world.person("alice")
    for cursor in (_b64({"LPK": "x"}), _b64({"LPK": None}), _b64({"LPK": {"S": "x"}, "LSK": {"N": "1"}})):
        assert person.get("/me/notifications", params={"cursor": cursor}).status_code == 400
        moderator = _staff(world, "mod-4", "moderators")
        assert moderator.get("/cases", params={"queue": "review", "cursor": cursor}).status_code == 400
    body = '{"post_id": "p", "category": "name", "relationship": "other", "attestations": %s}'
    huge = body % ('{"accurate_and_complete": ' + "1" * 5000 + "}")
    duplicated = body % '{"accurate_and_complete": true, "accurate_and_complete": true}'
    for raw in (huge, duplicated):
        response = person.post("/reports", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 422, response.text
    for claim in ("readers,moderators", '"moderators"'):
        sneaky = world.stack.as_user(world.id("sneaky"), groups=[claim])
        assert sneaky.get("/cases", params={"queue": "review"}).status_code == 403
