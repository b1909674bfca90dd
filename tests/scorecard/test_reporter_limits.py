"""Check 6: the reporter quota at the policy's own numbers, and EU DSA Art. 23 (warning, then a suspension for a
period) with its recorded events and notifications, through the real handlers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from tests.handlers.conftest import Stack

SUBMIT = "report_intake/submit_report.json"
WINDOW_START = datetime(2026, 11, 25, 12, 0, 5, tzinfo=UTC)


def _body(post_id: str) -> dict[str, object]:
    return {
        "post_id": post_id,
        "category": "contact_information",
        "relationship": "other",
        "attestations": {"accurate_and_complete": True},
    }


def test_the_policy_quota_gives_429_with_retry_after(stack: Stack, record_property: Any) -> None:
    from consent_guard.policy import load_policy

    quota = load_policy().reporter_quota
    start = datetime.fromtimestamp(
        (int(WINDOW_START.timestamp()) // quota.window_seconds) * quota.window_seconds + 5, UTC
    )
    with time_machine.travel(start, tick=False):
        for i in range(quota.max_reports):
            status, body, _ = stack.http(
                SUBMIT, body=_body(f"q-{i}"), sub="user-eve", headers={"idempotency-key": f"q{i}"}
            )
            assert status == 202, (i, body)
        depth = stack.depth("EvaluationQueue")
        status, body, headers = stack.http(
            SUBMIT, body=_body("q-over"), sub="user-eve", headers={"idempotency-key": "qx"}
        )
        assert status == 429 and body["code"] == "too_many_requests"
        retry_after = int(headers["retry-after"])
        assert retry_after == quota.window_seconds - 5  # until the window turns
        assert stack.depth("EvaluationQueue") == depth
        assert not [i for i in stack.table().scan()["Items"] if i.get("post_id") == "q-over"]
        # another reporter is not affected
        assert stack.http(SUBMIT, body=_body("q-over"), sub="user-frank", headers={"idempotency-key": "f"})[0] == 202
    with time_machine.travel(start + timedelta(seconds=retry_after), tick=False):
        assert stack.http(SUBMIT, body=_body("q-over"), sub="user-eve", headers={"idempotency-key": "qx"})[0] == 202
    record_property(
        "figure",
        f"quota {quota.max_reports}/{quota.window_seconds}s: report {quota.max_reports + 1} -> 429, "
        f"Retry-After {retry_after}",
    )


def _unfounded(stack: Stack, n: int, reporter: str = "user-eve") -> None:
    post_id = f"u-{n}"
    stack.post_context(post_id)
    status, accepted, _ = stack.http(SUBMIT, body=_body(post_id), sub=reporter, headers={"idempotency-key": post_id})
    assert status == 202, accepted
    stack.run_pipeline()
    _, case, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": accepted["case_id"]}, sub="mod-1", groups=["moderators"]
    )
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


def test_unfounded_reporting_is_warned_then_suspended_with_events_and_notices(
    stack: Stack, record_property: Any
) -> None:
    from consent_guard.models.items import standing_key
    from consent_guard.policy import load_policy

    misuse = load_policy().reporter_misuse
    for n in range(misuse.suspend_after):
        _unfounded(stack, n)

    standing = stack.table().get_item(Key=standing_key("user-eve"))["Item"]
    history = [entry["event"] for entry in json.loads(standing["history"])]
    assert history.count("reporting_warning") == 1 and history.count("reporting_suspended") == 1
    assert history.index("reporting_warning") == misuse.warn_after - 1
    assert history.index("reporting_suspended") == misuse.suspend_after - 1
    kinds = [n["kind"] for n in stack.inbox("user-eve")]
    assert kinds.count("reporting_warning") == 1 and kinds.count("reporting_suspended") == 1
    suspended_until = datetime.fromisoformat(str(standing["suspended_until"]).replace("Z", "+00:00"))
    assert (
        timedelta(days=misuse.suspension_days - 1)
        < suspended_until - datetime.now(UTC)
        <= timedelta(days=misuse.suspension_days)
    )

    status, body, _ = stack.http(SUBMIT, body=_body("u-new"), sub="user-eve", headers={"idempotency-key": "new"})
    assert status == 403 and body["code"] == "reporting_suspended"
    with time_machine.travel(suspended_until + timedelta(seconds=1), tick=False):
        assert stack.http(SUBMIT, body=_body("u-new"), sub="user-eve", headers={"idempotency-key": "new"})[0] == 202
    record_property(
        "figure",
        f"warned after {misuse.warn_after}, suspended {misuse.suspension_days} days after {misuse.suspend_after} "
        "unfounded reports (events + notices recorded)",
    )
