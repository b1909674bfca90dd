"""Hash banks on moto, through the real handlers: removals banked, re-uploads caught, people protecting their own
media, reversals, and the boundaries of the policy's thresholds. Real PDQ hashes from generated photos."""

from __future__ import annotations

from typing import Any

import pytest

from tests.handlers.conftest import Stack
from tests.hashing import distance, flip_bits, jpeg, photo, reencoded_and_resized, signals_of

MOD = ["moderators"]


def put_post(
    stack: Stack, post_id: str, author: str, media: list[dict[str, Any]], is_reshare: bool = False
) -> dict[str, Any]:
    status, body, _ = stack.http(
        "report_intake/put_post_context.json",
        path_params={"post_id": post_id},
        body={
            "author_id": author,
            "text": "look",
            "media": [{"media_id": f"{post_id}-m{i}", "media_type": "photo", **m} for i, m in enumerate(media)],
            "created_at": "2026-11-20T10:00:00Z",
            "is_reshare": is_reshare,
        },
    )
    assert status == 200, body
    return body


def run_all(stack: Stack) -> None:
    """Matching, evaluation, effects and notification queues until quiet."""
    for _ in range(5):
        moved = stack.deliver("MatchingQueue", "media_matching")
        moved += stack.deliver("EvaluationQueue", "policy_evaluation")
        moved += stack.deliver("EffectsQueue", "effects")
        moved += stack.deliver("NotificationQueue", "notification")
        if not moved:
            return


def case_view(stack: Stack, case_id: str) -> dict[str, Any]:
    status, view, _ = stack.http("case_api/get_case.json", path_params={"case_id": case_id}, sub="mod-1", groups=MOD)
    assert status == 200, view
    return view


def check(stack: Stack, **signals: Any) -> dict[str, Any]:
    status, body, _ = stack.http("media_matching/check_media.json", body={"media_type": "photo", **signals})
    assert status == 200, body
    return body


def entries(stack: Stack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    table = stack.table()
    # the test reads the moto table directly (the product never scans)
    response = table.scan()
    items += response["Items"]
    return [i for i in items if i.get("type") == "bank_entry"]


@pytest.fixture
def original() -> dict[str, Any]:
    return signals_of(jpeg(photo(7)))


@pytest.fixture
def removed(stack: Stack, original: dict[str, Any]) -> str:
    """post-1 by user-bob, intimate media reported by the person shown: hidden at once, removed by a moderator (the
    ladder's suspension of an original poster is a person's decision, PIM-A4), its photo banked."""
    put_post(stack, "post-1", "user-bob", [original])
    accepted = stack.report(sub="user-rosa", post_id="post-1", category="intimate_media")
    run_all(stack)
    case_id = str(accepted["case_id"])
    view = case_view(stack, case_id)
    assert view["case"]["state"] == "in_review" and not entries(stack), view["decision"]  # nothing banked yet
    status, decided, _ = stack.http(
        "case_api/decide_case.json",
        path_params={"case_id": case_id},
        body={"outcome": "remove", "rule_id": "PIM-10", "version": view["case"]["version"]},
        sub="mod-1",
        groups=MOD,
    )
    assert status == 200, decided
    run_all(stack)
    assert case_view(stack, case_id)["case"]["state"] == "actioned"
    return case_id


def test_a_removal_banks_its_media_in_the_decisions_transaction(stack: Stack, removed: str) -> None:
    banked = entries(stack)
    assert len(banked) == 1
    entry = banked[0]
    assert (entry["bank"], entry["status"], entry["origin_case_id"]) == ("removed", "active", removed)
    assert entry["BPK"].startswith("PDQ#") and entry["LPK"].startswith("PDQDELTA#")  # in the index and the delta
    from consent_guard.models.items import case_from_item

    case = case_from_item(stack.table().get_item(Key={"PK": f"CASE#{removed}", "SK": "STATUS"})["Item"])
    assert case.bank_entries == (entry["entry_id"],)


def test_the_same_photo_resized_and_reencoded_and_reshared_by_another_account_is_removed_automatically(
    stack: Stack, removed: str, original: dict[str, Any]
) -> None:
    copy = signals_of(reencoded_and_resized(photo(7)))
    assert copy["md5"] != original["md5"] and 0 < distance(copy["pdq"], original["pdq"]) <= 16
    accepted = put_post(stack, "post-2", "user-carol", [copy], is_reshare=True)
    assert accepted["reevaluating_cases"] == []
    run_all(stack)
    from consent_guard.ids import case_id_for

    view = case_view(stack, case_id_for("post-2", "intimate_media"))
    decision = view["decision"]
    assert view["case"]["state"] == "actioned" and decision["automated"]
    # a re-sharer: deletion required and a strike (the ladder's first violation), decided by the match alone
    assert decision["rule_ids"][0] == "PIM-M1" and decision["enforcement"] == "require_removal"
    statement = decision["statement_of_reasons"]
    d = distance(copy["pdq"], original["pdq"])
    assert f"distance of {d} of 256" in statement and "matched automatically" in statement
    assert "How to appeal" in statement and "PIM-10" in statement
    assert view["detection"]["matches"][0]["origin_case_id"] == removed
    assert copy["pdq"] not in str(view) and original["pdq"] not in str(view)  # never the hashes
    kinds = [n["kind"] for n in stack.inbox("user-carol")]
    assert "statement_of_reasons" in kinds
    actions = {e["detail"]["action"] for e in stack.enforcement_events() if e["detail"]["post_id"] == "post-2"}
    assert {"content.hide", "account.lock"} <= actions


def test_an_original_re_upload_of_intimate_media_is_hidden_at_once_and_its_suspension_left_to_a_person(
    stack: Stack, removed: str, original: dict[str, Any]
) -> None:
    put_post(stack, "post-2", "user-carol", [original])
    run_all(stack)
    from consent_guard.ids import case_id_for

    view = case_view(stack, case_id_for("post-2", "intimate_media"))
    decision = view["decision"]
    assert view["case"]["state"] == "in_review" and view["case"]["review_priority"] == 0
    assert decision["rule_ids"][0] == "PIM-M1" and "PIM-A4" in decision["rule_ids"]
    assert decision["enforcement"] == "hide_content" and "matched automatically" in decision["statement_of_reasons"]
    actions = {e["detail"]["action"] for e in stack.enforcement_events() if e["detail"]["post_id"] == "post-2"}
    assert actions == {"content.hide"}  # hidden meanwhile; no account measure without a person


def test_the_uploaded_file_itself_is_blocked_by_its_exact_hash_even_without_pdq(
    stack: Stack, removed: str, original: dict[str, Any]
) -> None:
    del removed
    result = check(stack, sha256=original["sha256"])
    assert (result["action"], result["rule_id"]) == ("block", "PIM-M1")
    assert result["matches"][0]["signal"] == "sha256" and result["matches"][0]["distance"] == 0


@pytest.mark.parametrize(
    ("bits", "quality", "action", "rule"),
    [
        (0, 90, "block", "PIM-M1"),
        (16, 90, "block", "PIM-M1"),
        (17, 90, "review", "PIM-M2"),
        (31, 90, "review", "PIM-M2"),
        (32, 90, "none", None),
        (0, 49, "none", None),
        (0, 50, "block", "PIM-M1"),
    ],
)
def test_thresholds_at_their_boundaries(
    stack: Stack, removed: str, original: dict[str, Any], bits: int, quality: int, action: str, rule: str | None
) -> None:
    del removed
    query = flip_bits(original["pdq"], bits, seed=bits)
    assert distance(query, original["pdq"]) == bits
    result = check(stack, pdq=query, pdq_quality=quality)
    assert (result["action"], result["rule_id"]) == (action, rule), result
    assert result["pdq_used"] is (quality >= 50)


def test_a_near_match_opens_a_case_for_review_not_a_removal(
    stack: Stack, removed: str, original: dict[str, Any]
) -> None:
    del removed
    put_post(stack, "post-3", "user-dan", [{"pdq": flip_bits(original["pdq"], 24), "pdq_quality": 80}])
    run_all(stack)
    from consent_guard.ids import case_id_for

    view = case_view(stack, case_id_for("post-3", "intimate_media"))
    assert view["case"]["state"] == "in_review" and view["case"]["review_priority"] == 0
    assert view["decision"]["rule_ids"] == ["PIM-M2"]
    assert view["detection"]["matches"][0]["distance"] == 24


def register(stack: Stack, sub: str, **body: Any) -> tuple[int, dict[str, Any]]:
    status, answer, _ = stack.http(
        "case_api/register_protected_media.json",
        body={"category": "intimate_media", "media_type": "photo", **body},
        sub=sub,
    )
    return status, answer


def test_protected_media_sends_an_upload_to_review_and_tells_the_person(stack: Stack) -> None:
    mine = signals_of(jpeg(photo(11)))
    status, registered = register(stack, "user-rosa", pdq=mine["pdq"], pdq_quality=mine["pdq_quality"])
    assert status == 201 and registered["signals"] == ["pdq"] and registered["pdq_used"] is True
    assert mine["pdq"] not in str(registered)
    upload = signals_of(reencoded_and_resized(photo(11)))
    put_post(stack, "post-9", "user-eve", [upload])
    run_all(stack)
    from consent_guard.ids import case_id_for

    case_id = case_id_for("post-9", "intimate_media")
    view = case_view(stack, case_id)
    assert view["case"]["state"] == "in_review" and view["case"]["review_priority"] == 0  # top priority
    assert view["decision"]["rule_ids"] == ["PIM-M3"] and view["decision"]["outcome"] == "needs_review"
    assert view["detection"]["matches"][0]["bank"] == "protected"
    assert [(r["reporter_id"], r["relationship"]) for r in view["reports"]] == [("user-rosa", "self")]
    notices = [n for n in stack.inbox("user-rosa") if n["kind"] == "protected_media_matched"]
    assert len(notices) == 1 and notices[0]["case_id"] == case_id
    assert mine["pdq"] not in notices[0]["body"] and upload["pdq"] not in notices[0]["body"]
    # delivered again: nothing new
    from consent_guard.models.messages import MatchCandidate, MediaCandidates, MediaMatched

    again = MediaMatched(
        post_id="post-9",
        media=[
            MediaCandidates(
                media_id="post-9-m0",
                candidates=[
                    MatchCandidate(
                        entry_id=registered["protected_media_id"],
                        signal="pdq",
                        distance=distance(mine["pdq"], upload["pdq"]),
                    )
                ],
            )
        ],
    )
    stack.session.client("sqs").send_message(
        QueueUrl=stack.resources.queues["EvaluationQueue"], MessageBody=again.model_dump_json()
    )
    run_all(stack)
    assert len([n for n in stack.inbox("user-rosa") if n["kind"] == "protected_media_matched"]) == 1
    assert case_view(stack, case_id)["case"]["version"] == view["case"]["version"]
    # the moderator confirms: removed, and now banked as removed (reviewed)
    status, decided, _ = stack.http(
        "case_api/decide_case.json",
        path_params={"case_id": case_id},
        body={"outcome": "remove", "rule_id": "PIM-10", "version": view["case"]["version"]},
        sub="mod-1",
        groups=MOD,
    )
    assert status == 200, decided
    run_all(stack)
    assert {e["bank"] for e in entries(stack)} == {"protected", "removed"}
    outcomes = [n for n in stack.inbox("user-rosa") if n["kind"] == "outcome"]
    assert len(outcomes) == 1  # the person hears the outcome as the case's first-person reporter


def test_a_withdrawn_protection_is_erased_at_once_and_never_acts(stack: Stack) -> None:
    mine = signals_of(jpeg(photo(12)))
    status, registered = register(stack, "user-rosa", md5=mine["md5"], pdq=mine["pdq"], pdq_quality=90)
    assert status == 201
    entry_id = registered["protected_media_id"]
    status, page, _ = stack.http("case_api/list_protected_media.json", sub="user-rosa")
    assert status == 200 and [i["protected_media_id"] for i in page["items"]] == [entry_id]
    # someone else cannot see or withdraw it: 404, exactly like a missing one
    for sub, expected in (("user-mallory", 404), ("user-rosa", 204), ("user-rosa", 404)):
        status, _, _ = stack.http(
            "case_api/withdraw_protected_media.json", path_params={"protected_media_id": entry_id}, sub=sub
        )
        assert status == expected, sub
    everything = stack.table().scan()["Items"]
    assert not [i for i in everything if entry_id in str(i)]  # entry, hashes, owner item: all gone
    assert not [i for i in everything if mine["md5"] in str(i) or mine["pdq"] in str(i)]
    status, page, _ = stack.http("case_api/list_protected_media.json", sub="user-rosa")
    assert page["items"] == []
    put_post(stack, "post-10", "user-eve", [mine])
    run_all(stack)
    from consent_guard.ids import case_id_for

    status, _, _ = stack.http(
        "case_api/get_case.json",
        path_params={"case_id": case_id_for("post-10", "intimate_media")},
        sub="mod-1",
        groups=MOD,
    )
    assert status == 404


def test_protected_media_limits_per_person(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    from consent_guard.policy import load_policy

    quota = load_policy().hash_matching.protected_quota.max_registrations
    for i in range(quota):
        status, _ = register(stack, "user-flood", sha256=f"{i:064x}")
        assert status == 201
    status, answer = register(stack, "user-flood", sha256=f"{quota:064x}")
    assert status == 429 and answer["code"] == "too_many_requests"
    assert register(stack, "user-other", sha256=f"{quota:064x}")[0] == 201  # per person


@pytest.mark.parametrize(
    "body",
    [
        {"category": "intimate_media", "media_type": "photo"},  # no signal at all
        {"category": "intimate_media", "media_type": "photo", "pdq": "ab" * 32},  # pdq without quality
        {"category": "intimate_media", "media_type": "photo", "pdq": "zz" * 32, "pdq_quality": 80},
        {"category": "intimate_media", "media_type": "photo", "md5": "ab" * 15},
        {"category": "intimate_media", "media_type": "video", "pdq": "ab" * 32, "pdq_quality": 80},
        {"category": "intimate_media", "media_type": "photo", "sha256": "ab" * 32, "pdq_quality": 101},
        {"category": "home_address_or_location", "media_type": "photo", "sha256": "ab" * 32},
        {"category": "intimate_media", "media_type": "photo", "sha256": "ab" * 32, "owner_id": "user-x"},
    ],
)
def test_signals_are_validated(stack: Stack, body: dict[str, Any]) -> None:
    status, answer, _ = stack.http("case_api/register_protected_media.json", body=body, sub="user-rosa")
    assert status == 422 and answer["errors"], answer
    status, answer, _ = stack.http(
        "report_intake/put_post_context.json",
        path_params={"post_id": "post-v"},
        body={
            "author_id": "user-bob",
            "created_at": "2026-11-20T10:00:00Z",
            "media": [{"media_id": "m", **{k: v for k, v in body.items() if k not in ("category", "owner_id")}}],
        }
        if body.get("media_type") == "video" or "zz" in str(body) or "md5" in body
        else {"author_id": "user-bob", "created_at": "2026-11-20T10:00:00Z", "media": [{"media_id": "m", "pdq": 1}]},
    )
    assert status == 422


def test_an_appeal_overturn_disables_the_entry_and_a_later_upload_is_not_removed(
    stack: Stack, removed: str, original: dict[str, Any]
) -> None:
    view = case_view(stack, removed)
    status, appealed, _ = stack.http(
        "case_api/appeal_case.json", path_params={"case_id": removed}, body={"reason": "it is me"}, sub="user-bob"
    )
    assert status == 200, appealed
    status, decided, _ = stack.http(
        "case_api/decide_appeal.json",
        path_params={"case_id": removed},
        body={"result": "overturn", "rule_id": "PIM-10", "version": view["case"]["version"] + 1},
        sub="appeals-1",
        groups=["appeals"],
    )
    assert status == 200, decided
    banked = {e["bank"]: e for e in entries(stack)}
    assert banked["removed"]["status"] == "disabled" and "BPK" not in banked["removed"]
    assert banked["cleared"]["status"] == "active"
    result = check(stack, pdq=original["pdq"], pdq_quality=90, sha256=original["sha256"])
    assert result["action"] == "none" and result["rule_id"] == "PIM-M4"
    assert {m["bank"] for m in result["matches"]} == {"cleared"}  # the disabled entry is not even reported
    put_post(stack, "post-4", "user-gus", [original])
    run_all(stack)
    from consent_guard.ids import case_id_for

    status, _, _ = stack.http(
        "case_api/get_case.json",
        path_params={"case_id": case_id_for("post-4", "intimate_media")},
        sub="mod-1",
        groups=MOD,
    )
    assert status == 404


def test_admins_disable_or_clear_entries_with_a_reason_recorded_as_an_event(
    stack: Stack, removed: str, original: dict[str, Any]
) -> None:
    del removed
    entry_id = entries(stack)[0]["entry_id"]
    body = {"action": "disable", "reason": "a stock photo"}
    for sub, groups, expected in (("mod-1", MOD, 403), ("user-bob", [], 403)):
        status, _, _ = stack.http(
            "case_api/change_bank_entry.json", path_params={"entry_id": entry_id}, body=body, sub=sub, groups=groups
        )
        assert status == expected
    status, view, _ = stack.http(
        "case_api/change_bank_entry.json",
        path_params={"entry_id": entry_id},
        body={"action": "clear", "reason": "a stock photo"},
        sub="admin-1",
        groups=["admins"],
    )
    assert status == 200, view
    assert view["status"] == "disabled" and view["events"][0]["action"] == "clear"
    assert view["events"][0]["reason"] == "a stock photo" and view["events"][0]["actor"] == "admin-1"
    status, _, _ = stack.http(
        "case_api/change_bank_entry.json", path_params={"entry_id": entry_id}, body=body, sub="a", groups=["admins"]
    )
    assert status == 409
    result = check(stack, pdq=original["pdq"], pdq_quality=90)
    assert (result["action"], result["rule_id"]) == ("none", "PIM-M4")


def test_a_cleared_match_suppresses_automation_and_sends_to_review(
    stack: Stack, removed: str, original: dict[str, Any]
) -> None:
    del removed
    entry_id = entries(stack)[0]["entry_id"]
    stack.http(
        "case_api/change_bank_entry.json",
        path_params={"entry_id": entry_id},
        body={"action": "clear", "reason": "found not violating"},
        sub="admin-1",
        groups=["admins"],
    )
    # a person protects the same photo: removed is disabled, cleared and protected both match -> review
    assert register(stack, "user-rosa", sha256=original["sha256"])[0] == 201
    result = check(stack, sha256=original["sha256"])
    assert (result["action"], result["rule_id"]) == ("review", "PIM-M4")


def test_a_stale_index_never_removes_what_was_disabled(stack: Stack, removed: str, original: dict[str, Any]) -> None:
    """The snapshot still holds the entry after it was disabled; the re-read before acting stops it."""
    del removed
    result = stack.handler("bank_index").lambda_handler({}, stack.context)
    assert result["entries"] == 1
    from consent_guard.http.matching_api import matcher

    matcher.cache_clear()  # a container started after the rebuild loads the snapshot
    assert [i for i, _ in matcher().snapshot().index.search(bytes.fromhex(original["pdq"]), 31)]
    entry_id = entries(stack)[0]["entry_id"]
    status, _, _ = stack.http(
        "case_api/change_bank_entry.json",
        path_params={"entry_id": entry_id},
        body={"action": "disable", "reason": "mistake"},
        sub="admin-1",
        groups=["admins"],
    )
    assert status == 200
    assert matcher().snapshot().index.search(bytes.fromhex(original["pdq"]), 31)  # stale: still in the snapshot
    assert check(stack, pdq=original["pdq"], pdq_quality=90)["action"] == "none"
    put_post(stack, "post-5", "user-hal", [original])
    run_all(stack)
    from consent_guard.ids import case_id_for

    status, _, _ = stack.http(
        "case_api/get_case.json",
        path_params={"case_id": case_id_for("post-5", "intimate_media")},
        sub="mod-1",
        groups=MOD,
    )
    assert status == 404


def test_matching_is_for_the_platform_only(stack: Stack) -> None:
    for kwargs in ({"sub": "user-alice"}, {"sub": "m", "groups": MOD}):
        status, _, _ = stack.http("media_matching/check_media.json", **kwargs)  # type: ignore[arg-type]
        assert status == 403
