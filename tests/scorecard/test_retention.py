"""Check 12: once a decided case is past its appeal window and the retention period after it, the scheduled
re-review has erased the personal data of its reports (and of its appeal), records it as an `erased` event, and
nothing in the table still holds what the reporters or the appellant wrote. Dedupe and idempotency markers never
held request data in the first place: only hashes and ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

from tests.handlers.conftest import Stack


def _text(value: Any) -> str:
    """A stored value as text, packed attributes unpacked (a check for text must see inside them)."""
    from boto3.dynamodb.types import Binary

    from consent_guard.models import items as it

    return it.unpacked(value) if isinstance(value, Binary) else str(value)


PHONE = "+44 7700 900777"
DESCRIPTION = f"that is my phone number, {PHONE}, in the photo"
APPEAL = f"the number {PHONE} was already public"


def _everything(stack: Stack) -> list[dict[str, Any]]:
    return list(stack.table().scan()["Items"])


def test_past_retention_the_sweeper_has_erased_the_personal_fields(stack: Stack, record_property: Any) -> None:
    from consent_guard.policy import load_policy

    policy = load_policy()
    stack.post_context()
    stack.account_context("user-bob", contact_email="bob@example.com")
    first = stack.report(sub="user-alice", description=DESCRIPTION)
    second = stack.report(sub="user-dave", relationship="other", description=f"a bystander: {PHONE}")
    stack.run_pipeline()
    case_id = first["case_id"]
    _, case, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": case_id}, sub="mod-1", groups=["moderators"]
    )
    assert case["case"]["state"] == "actioned"
    status, _, _ = stack.http(
        "case_api/appeal_case.json", path_params={"case_id": case_id}, body={"reason": APPEAL}, sub="user-bob"
    )
    assert status == 200
    _, case, _ = stack.http("case_api/get_case.json", path_params={"case_id": case_id}, sub="app-1", groups=["appeals"])
    status, upheld, _ = stack.http(
        "case_api/decide_appeal.json",
        path_params={"case_id": case_id},
        body={"result": "uphold", "version": case["case"]["version"]},
        sub="app-1",
        groups=["appeals"],
    )
    assert status == 200, upheld
    stack.run_pipeline()
    assert PHONE in json.dumps(_everything(stack), default=_text)  # stored while it is needed

    # idempotency and dedupe markers hold hashes and the 202 body only, from the start
    markers = [i for i in _everything(stack) if i["type"] in ("dedupe", "idempotency")]
    assert len(markers) == 4
    marker_text = json.dumps(markers, default=_text)
    assert PHONE not in marker_text and "user-alice" not in marker_text and "post-1001" not in marker_text

    # not yet due: the day before the retention period ends, nothing is erased
    days = policy.appeal_window_days + policy.retention_days_after_appeal_window
    with time_machine.travel(datetime.now(UTC) + timedelta(days=days - 1), tick=False):
        stack.scheduled_review()
    assert PHONE in json.dumps(_everything(stack), default=_text)

    summaries = []
    with time_machine.travel(datetime.now(UTC) + timedelta(days=days, hours=1), tick=False):
        for _ in range(4):  # a run acts on what is due; later runs find nothing more
            summaries.append(stack.scheduled_review())
            stack.run_pipeline()

    items = _everything(stack)
    text = json.dumps(items, default=_text)
    reports = {i["report_id"]: i for i in items if i["type"] == "report"}
    assert set(reports) == {first["report_id"], second["report_id"]}
    for report in reports.values():
        assert not report.get("description"), report["report_id"]
        assert report.get("reporter_id") not in ("user-alice", "user-dave"), report["report_id"]
        assert "represented_account_id" not in report
    assert PHONE not in text, [i for i in items if PHONE in json.dumps(i, default=_text)]
    assert not [i for i in items if i["type"] == "dedupe"]  # the (reporter, post) link is gone with them
    events = stack.stored_case_events(case_id)
    assert "erased" in events, events
    assert summaries[-1]["acted"] == {}, summaries  # idempotent: nothing left to do
    record_property(
        "figure",
        f"after {days} days: {len(reports)} reports erased (description, reporter), appeal text gone, 'erased' event, "
        "0 dedupe markers left",
    )
