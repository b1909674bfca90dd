"""Reporters are limited: a quota per window (429 + Retry-After), and EU DSA Art. 23 for misuse: a warning after
repeated manifestly unfounded reports, then a suspension of processing their reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from tests.handlers.conftest import Stack

SUBMIT = "report_intake/submit_report.json"


def _body(post_id: str, category: str = "contact_information", relationship: str = "other") -> dict[str, object]:
    return {
        "post_id": post_id,
        "category": category,
        "relationship": relationship,
        "attestations": {"accurate_and_complete": True},
    }


def test_the_quota_answers_429_with_retry_after_and_spares_other_reporters(stack: Stack) -> None:
    from consent_guard.http import intake_api

    service = intake_api.intake_service()
    quota = service.policy.reporter_quota.model_copy(update={"max_reports": 3})
    service.policy = service.policy.model_copy(update={"reporter_quota": quota})

    statuses = [
        stack.http(SUBMIT, body=_body(f"post-{i}"), sub="user-eve", headers={"idempotency-key": f"k{i}"})[0]
        for i in range(3)
    ]
    # a duplicate of an accepted report is answered with the original and does not count
    duplicate = stack.http(SUBMIT, body=_body("post-0"), sub="user-eve", headers={"idempotency-key": "other"})
    status, body, headers = stack.http(SUBMIT, body=_body("post-9"), sub="user-eve", headers={"idempotency-key": "k9"})

    assert statuses == [202, 202, 202] and duplicate[0] == 202
    assert status == 429 and body["code"] == "too_many_requests"
    assert 1 <= int(headers["retry-after"]) <= 3600
    assert stack.depth("EvaluationQueue") == 3  # nothing was stored or queued for the refused one
    assert stack.http(SUBMIT, body=_body("post-9"), sub="user-frank", headers={"idempotency-key": "f"})[0] == 202
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=1, seconds=1), tick=False):
        assert stack.http(SUBMIT, body=_body("post-9"), sub="user-eve", headers={"idempotency-key": "k9"})[0] == 202


def _unfounded(stack: Stack, post_id: str, reporter: str = "user-eve") -> None:
    stack.post_context(post_id)
    status, accepted, _ = stack.http(SUBMIT, body=_body(post_id), sub=reporter, headers={"idempotency-key": post_id})
    assert status == 202
    stack.run_pipeline()
    status, case, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": accepted["case_id"]}, sub="mod-1", groups=["moderators"]
    )
    assert case["case"]["state"] == "in_review"
    status, decided, _ = stack.http(
        "case_api/decide_case.json",
        path_params={"case_id": accepted["case_id"]},
        sub="mod-1",
        groups=["moderators"],
        body={
            "outcome": "no_violation",
            "rule_id": "PIM-12",
            "manifestly_unfounded": True,
            "version": case["case"]["version"],
        },
    )
    assert status == 200, decided
    stack.run_pipeline()


def test_repeated_manifestly_unfounded_reports_warn_then_suspend_reporting(stack: Stack) -> None:
    for i in range(3):
        _unfounded(stack, f"post-{i}")
    kinds = [n["kind"] for n in stack.inbox("user-eve")]
    assert kinds.count("reporting_warning") == 1 and "reporting_suspended" not in kinds

    for i in range(3, 5):
        _unfounded(stack, f"post-{i}")
    assert [n["kind"] for n in stack.inbox("user-eve")].count("reporting_suspended") == 1

    status, body, _ = stack.http(SUBMIT, body=_body("post-new"), sub="user-eve", headers={"idempotency-key": "new"})
    assert status == 403 and body["code"] == "reporting_suspended"
    # other reporters are unaffected
    assert stack.http(SUBMIT, body=_body("post-new"), sub="user-frank", headers={"idempotency-key": "x"})[0] == 202
    # the suspension is for a period, not for ever
    with time_machine.travel(datetime.now(UTC) + timedelta(days=31), tick=False):
        assert stack.http(SUBMIT, body=_body("post-new"), sub="user-eve", headers={"idempotency-key": "new"})[0] == 202


def test_manifestly_unfounded_only_fits_a_no_violation_decision(stack: Stack) -> None:
    stack.post_context("post-1")
    _, accepted, _ = stack.http(SUBMIT, body=_body("post-1"), sub="user-eve")
    stack.run_pipeline()
    status, _, _ = stack.http(
        "case_api/decide_case.json",
        path_params={"case_id": accepted["case_id"]},
        sub="mod-1",
        groups=["moderators"],
        body={"outcome": "remove", "rule_id": "PIM-12", "manifestly_unfounded": True, "version": 1},
    )
    assert status == 422
