"""The local runner as a product: state that survives a crash, a quick stop, a clock that can be moved.

Each test here starts its own stack (its own state folder), since they kill, restart or move the clock of it."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.client import LocalStackClient, wait_until
from local.process import stack_process

pytestmark = pytest.mark.e2e

FULL = {"accurate_and_complete": True, "information_is_mine": True, "not_published_elsewhere": True}


def _post_context(platform: httpx.Client, post_id: str, author: str) -> None:
    response = platform.put(
        f"/context/posts/{post_id}",
        json={
            "author_id": author,
            "text": "look who I saw",
            "media": [{"media_id": f"{post_id}-m1", "media_type": "photo"}],
            "created_at": "2026-11-20T10:00:00Z",
        },
    )
    assert response.status_code == 200, response.text


def _report(client: httpx.Client, post_id: str, relationship: str) -> dict[str, Any]:
    response = client.post(
        "/reports",
        json={
            "post_id": post_id,
            "category": "private_media",
            "relationship": relationship,
            "attestations": FULL if relationship == "self" else {"accurate_and_complete": True},
        },
    )
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


def _status(client: httpx.Client, report_id: str) -> str:
    response = client.get(f"/reports/{report_id}")
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def test_a_report_accepted_just_before_a_kill_is_there_after_the_restart_and_its_pipeline_completes(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with stack_process(tmp_path, state_dir=state) as stack, LocalStackClient(stack.url) as client:
        _post_context(client.as_platform(), "kill-post", "kill-author")
        earlier = _report(client.as_user("kill-earlier"), "kill-post-0", "other")  # fully processed before the kill
        wait_until(lambda: _status(client.as_user("kill-earlier"), earlier["report_id"]) != "received", timeout=30)
        accepted = _report(client.as_user("kill-depicted"), "kill-post", "self")
        stack.process.send_signal(signal.SIGKILL)  # right after the 202: no chance to flush or finish anything
        stack.process.wait(timeout=10)
    with stack_process(tmp_path, state_dir=state) as stack, LocalStackClient(stack.url) as client:
        depicted = client.as_user("kill-depicted")
        assert _status(client.as_user("kill-earlier"), earlier["report_id"]) != "received"
        assert _status(depicted, accepted["report_id"]) in {"received", "action_taken"}
        wait_until(lambda: _status(depicted, accepted["report_id"]) == "action_taken", timeout=60)
        hides = wait_until(
            lambda: [e for e in client.events("content.hide") if e["detail"]["case_id"] == accepted["case_id"]],
            timeout=30,
        )
        assert len(hides) == 1
        kinds = wait_until(
            lambda: [n["kind"] for n in depicted.get("/me/notifications").json()["items"] if n["kind"] == "outcome"],
            timeout=30,
        )
        assert kinds == ["outcome"]


def test_reset_starts_clean(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with stack_process(tmp_path, state_dir=state) as stack, LocalStackClient(stack.url) as client:
        accepted = _report(client.as_user("reset-reporter"), "reset-post", "other")
    with stack_process(tmp_path, "--reset", state_dir=state) as stack, LocalStackClient(stack.url) as client:
        assert client.as_user("reset-reporter").get(f"/reports/{accepted['report_id']}").status_code == 404


def test_sigterm_stops_it_promptly_and_cleanly(tmp_path: Path) -> None:
    with stack_process(tmp_path, state_dir=tmp_path / "state") as stack, LocalStackClient(stack.url) as client:
        _report(client.as_user("stop-reporter"), "stop-post", "other")
        started = time.monotonic()
        stack.process.send_signal(signal.SIGTERM)
        returncode = stack.process.wait(timeout=10)
        took = time.monotonic() - started
    assert returncode == 0
    assert took < 5, f"took {took:.1f} s to stop"  # about 1 s here; the bound only catches a hang
    assert "stopped stop_ms=" in stack.log.read_text()


def test_the_clock_moves_forward_only_and_the_schedule_acts_on_what_fell_due(tmp_path: Path) -> None:
    with stack_process(tmp_path, state_dir=tmp_path / "state") as stack, LocalStackClient(stack.url) as client:
        local = client.local
        before = local.get("/local/clock").json()
        assert before["offset_seconds"] == 0
        for bad in ({"advance": "-P1D"}, {"advance": "P0D"}, {"advance": "P1Y"}, {"advance": 3}, {}, {"go": "P1D"}):
            response = local.post("/local/clock", json=bad)
            assert response.status_code == 400, (bad, response.text)
            assert "message" in response.json()
        assert local.post("/local/clock", content=b"{not json").status_code == 400

        platform, bystander = client.as_platform(), client.as_user("clock-bystander")
        _post_context(platform, "clock-post", "clock-author")
        accepted = _report(bystander, "clock-post", "other")
        wait_until(lambda: _status(bystander, accepted["report_id"]) == "awaiting_first_person", timeout=30)

        moved = local.post("/local/clock", json={"advance": "P15D"})
        assert moved.status_code == 200, moved.text
        body = moved.json()
        assert body["offset_seconds"] == 15 * 86400
        assert any(run["result"]["acted"].get("first_person_wait") for run in body["schedule_runs"])
        wait_until(lambda: _status(bystander, accepted["report_id"]) == "closed", timeout=30)
        assert wait_until(
            lambda: [n for n in bystander.get("/me/notifications").json()["items"] if n["kind"] == "case_closed"],
            timeout=30,
        )
    # the moved time is part of the state: a restart keeps it
    with stack_process(tmp_path, state_dir=tmp_path / "state") as stack, LocalStackClient(stack.url) as client:
        assert client.local.get("/local/clock").json()["offset_seconds"] == 15 * 86400
