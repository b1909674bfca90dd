"""What the moderator console needs from the case API (events/case_api/*.json on moto): queue counts and a category
filter, report counts and badges, the rules a person may cite, the statement of reasons previewed, media views
recorded on the case, and the author's strikes."""

from __future__ import annotations

from typing import Any

from tests.handlers.conftest import Stack
from tests.handlers.test_cases import _case, _decide, _in_review, _queue

COUNT = "case_api/count_cases.json"
RULES = "case_api/policy_rules.json"
PREVIEW = "case_api/preview_decision.json"
MEDIA_VIEW = "case_api/record_media_view.json"
MOD = ["moderators"]


def _view_media(stack: Stack, case_id: str, media_id: str, sub: str = "mod-1", groups: list[str] | None = None) -> Any:
    return stack.http(
        MEDIA_VIEW, path_params={"case_id": case_id}, body={"media_id": media_id}, sub=sub, groups=groups or MOD
    )


def test_queue_counts_by_category_and_the_category_filter(stack: Stack) -> None:
    contact = _in_review(stack, "post-1", "contact_information")["case"]["case_id"]
    _in_review(stack, "post-2", "financial_information")
    _in_review(stack, "post-3", "financial_information")

    status, counts, _ = stack.http(COUNT, query={"queue": "review"}, sub="mod-1", groups=MOD)
    assert status == 200, counts
    assert counts["total"] == 3 and counts["overdue"] == 0
    assert {k: v["cases"] for k, v in counts["categories"].items()} == {
        "contact_information": 1,
        "financial_information": 2,
    }
    status, page = _queue(stack, category="contact_information")
    assert status == 200 and [i["case_id"] for i in page["items"]] == [contact]
    status, page = _queue(stack, category="not_a_category")
    assert status == 422
    status, _, _ = stack.http(COUNT, query={"queue": "review"}, sub="user-eve", groups=[])
    assert status == 403
    status, _, _ = stack.http(COUNT, query={"queue": "appeals"}, sub="mod-1", groups=MOD)
    assert status == 403


def test_the_queue_shows_how_many_reports_and_who_flagged(stack: Stack) -> None:
    case_id = _in_review(stack, "post-7", "financial_information")["case"]["case_id"]
    for reporter in ("user-erin", "user-finn"):
        stack.report(sub=reporter, post_id="post-7", category="financial_information", relationship="other")
    stack.run_pipeline()
    _, page = _queue(stack)
    item = next(i for i in page["items"] if i["case_id"] == case_id)
    assert item["report_count"] == 3
    assert item["trusted_flagger"] is False


def test_citable_rules_per_outcome_for_staff_only(stack: Stack) -> None:
    status, rules, _ = stack.http(RULES, query={"category": "contact_information"}, sub="mod-1", groups=MOD)
    assert status == 200, rules
    assert [r["rule_id"] for r in rules["outcomes"]["remove"]] == ["PIM-12"]
    assert "PIM-12" in [r["rule_id"] for r in rules["outcomes"]["no_violation"]]
    assert all(r["heading"] and r["text"] for r in rules["outcomes"]["no_violation"])
    assert rules["policy_version"]
    status, _, _ = stack.http(RULES, query={"category": "contact_information"}, sub="user-eve", groups=[])
    assert status == 403


def test_the_statement_previewed_is_the_statement_decided(stack: Stack) -> None:
    view = _in_review(stack)
    case_id = view["case"]["case_id"]
    status, preview, _ = stack.http(
        PREVIEW,
        path_params={"case_id": case_id},
        body={"outcome": "remove", "rule_id": "PIM-12"},
        sub="mod-1",
        groups=MOD,
    )
    assert status == 200, preview
    assert _case(stack, case_id)["case"]["version"] == view["case"]["version"]  # nothing stored
    status, decided = _decide(stack, case_id, view["case"]["version"])
    assert status == 200, decided
    assert preview["statement_of_reasons"] == decided["decision"]["statement_of_reasons"]
    assert preview["rule_ids"] == decided["decision"]["rule_ids"]
    assert preview["enforcement"] == decided["decision"]["enforcement"]

    other = _in_review(stack, "post-2")["case"]["case_id"]
    status, body, _ = stack.http(
        PREVIEW, path_params={"case_id": other}, body={"outcome": "remove", "rule_id": "PIM-1"}, sub="mod-1", groups=MOD
    )
    assert status == 422 and body["code"] == "rule_not_applicable"
    status, _, _ = stack.http(
        PREVIEW, path_params={"case_id": other}, body={"outcome": "remove", "rule_id": "PIM-12"}, sub="eve", groups=[]
    )
    assert status == 403


def test_a_media_view_is_recorded_on_the_case_as_who_looked_and_when(stack: Stack) -> None:
    view = _in_review(stack, "post-9")
    case_id = view["case"]["case_id"]
    status, seen, _ = _view_media(stack, case_id, "post-9-m0")
    assert status == 200, seen
    assert seen["viewed_by"] == "mod-1" and seen["version"] == view["case"]["version"] + 1
    after = _case(stack, case_id)
    event = after["events"][-1]
    assert (event["type"], event["actor"], event["data"]) == ("media_viewed", "mod-1", {"media_id": "post-9-m0"})
    assert event["at"].startswith(seen["viewed_at"][:19])

    status, _, _ = _view_media(stack, case_id, "post-9-m7")  # not this post's media: nothing to probe
    assert status == 404
    status, _, _ = _view_media(stack, "c_" + "a" * 24, "post-9-m0")
    assert status == 404
    status, _, _ = _view_media(stack, case_id, "post-9-m0", sub="user-eve", groups=["trusted_flaggers"])
    assert status == 403
    assert len([e for e in _case(stack, case_id)["events"] if e["type"] == "media_viewed"]) == 1


def test_staff_see_the_authors_strikes(stack: Stack) -> None:
    first = _in_review(stack, "post-1")["case"]
    status, _ = _decide(stack, first["case_id"], first["version"])
    assert status == 200
    second = _in_review(stack, "post-2")
    strikes = second["author_strikes"]
    assert [(s["case_id"], s["rule_id"]) for s in strikes] == [(first["case_id"], "PIM-12")]
