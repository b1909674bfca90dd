"""The product's story end to end, over real HTTP against the local stack: what reporters, authors and the platform
see. Every test uses its own ids (the tests share one stack) and waits only with a bound."""

from __future__ import annotations

import io
import json
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest

from local import demo
from local.client import wait_until
from local.process import running_stack
from tests.e2e.conftest import LocalStackHandle

pytestmark = pytest.mark.e2e

WAIT = 30.0  # seconds: the SQS pollers usually finish in well under one
FULL_ATTESTATIONS = {"accurate_and_complete": True, "information_is_mine": True, "not_published_elsewhere": True}
GATEWAY_FORBIDDEN = {"message": "Forbidden"}


class World:
    """One test's people and posts on the shared stack, with ids nobody else uses."""

    def __init__(self, handle: LocalStackHandle) -> None:
        self.stack = handle.client
        self.tag = uuid.uuid4().hex[:8]
        self.platform = self.stack.as_platform()
        self._people: dict[str, httpx.Client] = {}
        self._accounts: dict[str, dict[str, Any]] = {}

    def id(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def person(self, name: str) -> httpx.Client:
        if name not in self._people:
            self._people[name] = self.stack.as_user(self.id(name))
        return self._people[name]

    def account(self, name: str, **facts: Any) -> None:
        """The platform's facts about an account (merged with what this test told it before)."""
        merged = self._accounts[name] = {**self._accounts.get(name, {}), **facts}
        response = self.platform.put(f"/context/accounts/{self.id(name)}", json=merged)
        assert response.status_code == 200, response.text

    def verify(self, reporter: str, post_id: str) -> None:
        """The platform confirms a first-person claim: the reporter's identity and that they are shown in the media."""
        self.account(reporter, identity_verified=True)
        response = self.platform.put(f"/context/media/{post_id}-m1", json={"depicted_account_ids": [self.id(reporter)]})
        assert response.status_code == 200, response.text

    def post(self, name: str, author: str = "author", **signals: bool) -> str:
        post_id = self.id(name)
        response = self.platform.put(
            f"/context/posts/{post_id}",
            json={
                "author_id": self.id(author),
                "text": "look who I saw",
                "media": [{"media_id": f"{post_id}-m1", "media_type": "photo"}],
                "created_at": "2026-11-20T10:00:00Z",
                "signals": signals,
            },
        )
        assert response.status_code == 200, response.text
        return post_id

    def report(
        self,
        reporter: str,
        post_id: str,
        relationship: str = "self",
        category: str = "private_media",
        verified: bool = True,
        **extra: Any,
    ) -> httpx.Response:
        """A report; a `self` report's claim is confirmed by the platform first unless `verified=False`."""
        if relationship == "self" and verified:
            self.verify(reporter, post_id)
        attestations = FULL_ATTESTATIONS if relationship == "self" else {"accurate_and_complete": True}
        body = {
            "post_id": post_id,
            "category": category,
            "relationship": relationship,
            "attestations": attestations,
            **extra,
        }
        return self.person(reporter).post("/reports", json=body)

    def view(self, reporter: str, report_id: str) -> dict[str, Any]:
        response = self.person(reporter).get(f"/reports/{report_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def wait_for_status(self, reporter: str, report_id: str, pending: Iterable[str] = ("received",)) -> dict[str, Any]:
        """The reporter's view once the report has left the `pending` statuses."""
        pending = tuple(pending)

        def evaluated() -> dict[str, Any] | None:
            view = self.view(reporter, report_id)
            return view if view["status"] not in pending else None

        view: dict[str, Any] = _wait(evaluated, f"report {report_id} to leave {pending}")
        return view

    def inbox(self, name: str) -> list[dict[str, Any]]:
        response = self.person(name).get("/me/notifications", params={"limit": 100})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def wait_for_inbox(self, name: str, *kinds: str) -> list[dict[str, Any]]:
        """The inbox once it holds (at least) these kinds."""
        wanted = sorted(kinds)

        def arrived() -> list[dict[str, Any]] | None:
            items = self.inbox(name)
            have = [n["kind"] for n in items]
            return items if all(have.count(k) >= wanted.count(k) for k in wanted) else None

        items: list[dict[str, Any]] = _wait(arrived, f"notifications {wanted} for {name}")
        return items

    def events_of(self, case_id: str) -> list[dict[str, Any]]:
        return [e for e in self.stack.events() if e["detail"].get("case_id") == case_id]

    def wait_for_events(self, case_id: str, *detail_types: str) -> list[dict[str, Any]]:
        """The enforcement events of a case at /local/events once these detail-types are among them."""

        def published() -> list[dict[str, Any]] | None:
            events = self.events_of(case_id)
            return events if set(detail_types) <= {e["detail-type"] for e in events} else None

        events: list[dict[str, Any]] = _wait(published, f"events {detail_types} of case {case_id}")
        return events


def _wait[T](predicate: Callable[[], T | None], what: str) -> T:
    result = wait_until(predicate, timeout=WAIT, interval=0.1, message=f"not within {WAIT:g} s: {what}")
    assert result is not None
    return result


@pytest.fixture
def world(local_stack: LocalStackHandle) -> World:
    return World(local_stack)


# --------------------------------------------------------------------------------------------- the first person


def test_a_first_person_report_is_removed_and_the_reporter_the_author_and_the_platform_are_told(
    world: World,
) -> None:
    world.account("author", contact_email="author@example.com")
    post_id = world.post("post")

    response = world.report("alice", post_id)

    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "received"
    view = world.wait_for_status("alice", accepted["report_id"])
    assert (view["status"], view["outcome"]) == ("action_taken", "remove")
    assert view["case_id"] == accepted["case_id"] and view["post_id"] == post_id
    assert "PIM-8" in view["rule_ids"]
    assert view["policy_version"] and view["decided_at"]
    assert "PIM-8" in view["explanation"]

    reporter = world.wait_for_inbox("alice", "receipt", "outcome")
    assert sorted(n["kind"] for n in reporter) == ["outcome", "receipt"]
    assert {n["report_id"] for n in reporter} == {accepted["report_id"]}

    author = world.wait_for_inbox("author", "statement_of_reasons")
    assert [n["kind"] for n in author] == ["statement_of_reasons"]
    assert author[0]["case_id"] == accepted["case_id"]
    assert author[0]["email_status"] == "sent"  # the platform gave the author's contact_email
    assert world.id("alice") not in json.dumps(author)  # the author never learns who reported

    events = world.wait_for_events(accepted["case_id"], "content.hide", "account.lock")
    assert sorted(e["detail-type"] for e in events) == ["account.lock", "content.hide"]
    for event in events:
        assert event["detail"]["post_id"] == post_id
        assert event["detail"]["account_id"] == world.id("author")
        assert event["detail"]["policy_version"] == view["policy_version"]


def test_without_a_contact_email_the_author_is_told_in_the_app_only(world: World) -> None:
    post_id = world.post("post")  # no account context for the author at all

    accepted = world.report("alice", post_id).json()

    assert world.wait_for_status("alice", accepted["report_id"])["outcome"] == "remove"
    author = world.wait_for_inbox("author", "statement_of_reasons")
    assert author[0]["email_status"] != "sent"


# --------------------------------------------------------------------------------------------- the bystander


def test_a_bystanders_report_of_private_media_waits_for_the_person_depicted_and_says_so(world: World) -> None:
    post_id = world.post("post")

    response = world.report("dave", post_id, relationship="other")

    assert response.status_code == 202
    accepted = response.json()
    view = world.wait_for_status("dave", accepted["report_id"])
    assert view["status"] == "awaiting_first_person"
    assert view["rule_ids"] == ["PIM-3"]
    inbox = world.wait_for_inbox("dave", "receipt", "awaiting_first_person")
    told = next(n for n in inbox if n["kind"] == "awaiting_first_person")
    assert post_id in told["subject"]
    assert "report the post themselves" in told["body"]
    assert world.events_of(accepted["case_id"]) == []


def test_when_the_person_depicted_reports_too_the_bystander_learns_the_outcome(world: World) -> None:
    post_id = world.post("post")
    bystander = world.report("dave", post_id, relationship="other").json()
    world.wait_for_status("dave", bystander["report_id"])

    first_person = world.report("alice", post_id).json()

    assert first_person["case_id"] == bystander["case_id"]  # one case per post and category
    view = world.wait_for_status("dave", bystander["report_id"], pending=("received", "awaiting_first_person"))
    assert (view["status"], view["outcome"]) == ("action_taken", "remove")
    world.wait_for_inbox("dave", "receipt", "awaiting_first_person", "outcome")


# --------------------------------------------------------------------------------------------- other outcomes


def test_a_public_figures_media_shared_in_the_public_interest_stays_up(world: World) -> None:
    world.account("figure", public_figure=True)
    post_id = world.post("post", public_interest=True)

    accepted = world.report("figure", post_id).json()

    view = world.wait_for_status("figure", accepted["report_id"])
    assert (view["status"], view["outcome"], view["rule_ids"]) == ("no_violation", "no_violation", ["PIM-X1"])
    world.wait_for_inbox("figure", "receipt", "outcome")
    assert world.events_of(accepted["case_id"]) == []


def test_a_name_is_out_of_scope_and_the_reporter_is_told_why(world: World) -> None:
    post_id = world.post("post")

    accepted = world.report("alice", post_id, category="name").json()

    view = world.wait_for_status("alice", accepted["report_id"])
    assert (view["status"], view["rule_ids"]) == ("no_violation", ["PIM-1"])
    assert "not private information" in view["explanation"]


# --------------------------------------------------------------------------------------------- duplicates


def test_a_duplicate_submission_returns_the_original_report(world: World) -> None:
    post_id = world.post("post")
    first = world.report("alice", post_id)

    again = world.report("alice", post_id, description="a different description, same post and category")

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    world.wait_for_status("alice", first.json()["report_id"])
    inbox = world.wait_for_inbox("alice", "receipt", "outcome")
    assert sorted(n["kind"] for n in inbox) == ["outcome", "receipt"]  # one report, told once


def test_an_idempotency_key_replays_the_original_and_refuses_a_different_request(world: World) -> None:
    post_id = world.post("post")
    alice = world.person("alice")
    body = {"post_id": post_id, "category": "private_media", "relationship": "self", "attestations": FULL_ATTESTATIONS}
    key = {"idempotency-key": f"key-{world.tag}"}

    first = alice.post("/reports", json=body, headers=key)
    retry = alice.post("/reports", json=body, headers=key)
    other = alice.post("/reports", json={**body, "category": "name"}, headers=key)

    assert retry.status_code == 202 and retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"


# --------------------------------------------------------------------------------------------- who may see what


def test_another_persons_report_is_404_exactly_like_a_missing_one(world: World) -> None:
    post_id = world.post("post")
    report_id = world.report("alice", post_id).json()["report_id"]
    world.wait_for_status("alice", report_id)
    mallory = world.person("mallory")

    theirs = mallory.get(f"/reports/{report_id}")
    missing = mallory.get(f"/reports/r_{world.tag}_missing")

    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert report_id not in theirs.text and post_id not in theirs.text
    assert world.inbox("mallory") == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/context/posts/{id}", {"author_id": "x", "created_at": "2026-11-20T10:00:00Z"}),
        ("POST", "/context/posts/{id}/deleted", None),
        ("PUT", "/context/accounts/{id}", {"public_figure": True}),
        ("PUT", "/context/media/{id}", {"publicly_available": True}),
    ],
)
def test_platform_routes_refuse_a_persons_token_at_the_gateway(
    world: World, method: str, path: str, body: dict[str, Any] | None
) -> None:
    admin = world.stack.as_user(world.id("admin"), groups=["moderators", "admins"])

    response = admin.request(method, path.format(id=world.id("thing")), json=body)

    assert response.status_code == 403
    assert response.json() == GATEWAY_FORBIDDEN


def test_reports_refuse_the_platforms_token_in_the_handler(world: World) -> None:
    post_id = world.post("post")
    body = {"post_id": post_id, "category": "private_media", "relationship": "self", "attestations": FULL_ATTESTATIONS}

    response = world.platform.post("/reports", json=body)

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"  # the handler's error body, not the gateway's


# --------------------------------------------------------------------------------------------- invalid input

PHONE = "+44 7700 900123"
EMAIL = "jane.doe.private@example.org"


@pytest.mark.parametrize(
    ("platform", "path", "body", "locs"),
    [
        pytest.param(
            False,
            "/reports",
            {
                "post_id": PHONE,
                "category": EMAIL,
                "relationship": "self",
                "description": f"{PHONE} " * 200,
                "attestations": {"accurate_and_complete": PHONE},
                "locale": EMAIL,
            },
            [
                ["body", "post_id"],
                ["body", "category"],
                ["body", "description"],
                ["body", "attestations", "accurate_and_complete"],
                ["body", "locale"],
            ],
            id="report",
        ),
        pytest.param(
            False,
            "/reports",
            {
                "post_id": "post-1",
                "category": "private_media",
                "relationship": "other",
                "represented_account_id": PHONE,
                "attestations": {"accurate_and_complete": True},
            },
            [["body", "represented_account_id"]],
            id="report-representative",
        ),
        pytest.param(
            True,
            "/context/accounts/acc-1",
            {"contact_email": f"{PHONE} {EMAIL}", "locale": PHONE},
            [["body", "contact_email"], ["body", "locale"]],
            id="account",
        ),
    ],
)
def test_field_errors_name_the_fields_and_never_echo_the_rejected_values(
    world: World, platform: bool, path: str, body: dict[str, Any], locs: list[list[str]]
) -> None:
    client = world.platform if platform else world.person("alice")
    send = client.put if platform else client.post

    response = send(path, json=body)

    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "validation_error"
    assert all({"loc", "type", "msg"} == e.keys() for e in error["errors"])
    assert sorted(e["loc"] for e in error["errors"]) == sorted(locs)
    for value in (PHONE, EMAIL, "7700", "jane.doe"):
        assert value not in response.text


def test_a_rejected_report_is_not_stored(world: World) -> None:
    post_id = world.post("post")
    key = {"idempotency-key": f"key-{world.tag}"}
    body = {"post_id": post_id, "category": "private_media", "relationship": "self", "attestations": FULL_ATTESTATIONS}
    alice = world.person("alice")

    rejected = alice.post("/reports", json={**body, "attestations": {"accurate_and_complete": False}}, headers=key)
    accepted = alice.post("/reports", json=body, headers=key)

    assert rejected.status_code == 422
    assert accepted.status_code == 202  # neither a duplicate of the rejected one nor a reused key
    assert "idempotent-replayed" not in accepted.headers


# --------------------------------------------------------------------------------------------- the demo


@pytest.fixture(scope="module")
def demo_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo moves the stack's clock 15 days (its last step): its own stack, so the other tests' times hold."""
    with running_stack(tmp_path_factory.mktemp("demo_stack")) as (url, _log):
        yield url


def test_the_demo_tells_the_whole_story_against_the_stack_and_exits_0(demo_stack: str) -> None:
    out, err = io.StringIO(), io.StringIO()

    status = demo.main(["--url", demo_stack], out=out, err=err)

    text = out.getvalue()
    assert status == 0, f"{err.getvalue()}\n{text}"
    assert "awaiting_first_person" in text
    assert "status action_taken, outcome remove" in text
    assert "Idempotent-Replayed: true" in text
    assert "-> 422 validation_error" in text
    assert "content.hide" in text and "account.lock" in text
    assert "statement_of_reasons" in text and "(email: sent)" in text
    assert "all DLQs are empty" in text
    assert "POST /local/clock" in text and "status closed" in text  # the 14-day wait, seen to end
    # the hash bank chapter: re-upload removed automatically, protected media sent to review, overturn disables
    assert "opened case" in text and "actioned" in text and "PIM-M1" in text
    assert "(rules PIM-M3); never removed automatically" in text and "protected_media_matched" not in err.getvalue()
    assert "disabled (overturned)" in text and "opens no case" in text
    assert "Done: " in text


def test_the_demo_can_run_again_on_the_same_stack(demo_stack: str) -> None:
    assert demo.main(["--url", demo_stack], out=io.StringIO(), err=io.StringIO()) == 0


def test_the_demo_says_to_start_the_stack_when_nothing_listens(local_stack: LocalStackHandle) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = io.StringIO()

    status = demo.main(["--url", f"http://127.0.0.1:{port}"], out=io.StringIO(), err=err)

    assert status == 1
    assert "make run" in err.getvalue()


def test_the_demo_fails_loudly_when_an_outcome_never_arrives(local_stack: LocalStackHandle) -> None:
    story = demo.Story(stack=local_stack.client, cast=demo.Cast.new(), say=demo.Narrator(io.StringIO()), timeout=0.5)

    with pytest.raises(demo.DemoFailed, match=r"waited 0.5 s for notifications \['outcome'\]"):
        story.wait_for_notifications(story.cast.reporter, ["outcome"])
