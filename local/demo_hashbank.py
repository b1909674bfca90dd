"""The hash bank chapter of `make demo`: removed media stays removed; people protect their own photos.

Real PDQ hashes of photos generated here (local/media.py); the stack only ever receives hashes.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING, Any

from consent_guard.ids import case_id_for
from local.media import distance, jpeg, photo, reencoded_and_resized, signals_of

if TYPE_CHECKING:
    from local.demo import Story

FULL_ATTESTATIONS = {"accurate_and_complete": True, "information_is_mine": True, "not_published_elsewhere": True}


def _post(story: Story, post_id: str, author: str, signals: dict[str, Any], is_reshare: bool = False) -> None:
    body = {
        "author_id": author,
        "text": "",
        "media": [{"media_id": f"{post_id}-m0", "media_type": "photo", **signals}],
        "created_at": "2026-11-30T10:00:00Z",
        "is_reshare": is_reshare,
    }
    story.call(story.platform, "PUT", f"/context/posts/{post_id}", 200, json=body)
    story.say.fact(
        f"PUT /context/posts/{post_id} by {author}{' (a re-share)' if is_reshare else ''}: one photo, "
        f"md5/sha256/pdq (quality {signals['pdq_quality']})"
    )


def _case(story: Story, case_id: str, what: str, expect: str | None = None) -> dict[str, Any]:
    from local.demo import staff

    moderator = staff(story, f"mod-{story.cast.suffix}", "moderators")

    def opened() -> dict[str, Any] | None:
        response = moderator.get(f"/cases/{case_id}")
        if response.status_code != 200:
            story.last_seen = f"{response.status_code}"
            return None
        view: dict[str, Any] = response.json()
        story.last_seen = view["case"]["state"]
        return view if expect is None or view["case"]["state"] == expect else None

    result: dict[str, Any] = story.wait(opened, what)
    return result


def photo_removed(story: Story) -> None:
    c = story.cast
    story.notes["original"] = original = signals_of(jpeg(photo(zlib.crc32(c.suffix.encode()))))
    post = f"post-{c.suffix}-hb1"
    _post(story, post, c.author, original)
    from local.demo import staff

    accepted = story.submit(
        "hb_removed", c.reporter, {**_report(post), "attestations": FULL_ATTESTATIONS, "relationship": "self"}
    )
    case = _case(story, accepted["case_id"], "the report's case in review", expect="in_review")
    story.say.fact(
        f"hidden at once, in review at priority {case['case']['review_priority']} "
        f"(rules {', '.join(case['decision']['rule_ids'])}: an original poster's suspension is a person's decision)"
    )
    moderator = staff(story, f"mod-{c.suffix}", "moderators")
    decision = {"outcome": "remove", "rule_id": "PIM-10", "version": case["case"]["version"]}
    _, decided = story.call(moderator, "POST", f"/cases/{accepted['case_id']}/decisions", 200, json=decision)
    story.say.fact(
        f"a moderator removes it: {decided['case']['state']}, {decided['decision']['enforcement']} "
        f"(rules {', '.join(decided['decision']['rule_ids'])}); its photo's hashes are banked with the decision"
    )


def _report(post: str) -> dict[str, Any]:
    return {"post_id": post, "category": "intimate_media", "relationship": "self"}


def reupload_removed(story: Story) -> None:
    c = story.cast
    original = story.notes["original"]
    copy = signals_of(reencoded_and_resized(photo(zlib.crc32(c.suffix.encode()))))
    story.say.fact(
        f"the same photo resized to 400x300 and re-encoded at JPEG quality 40: other md5/sha256, "
        f"PDQ distance {distance(copy['pdq'], original['pdq'])} of 256"
    )
    post = f"post-{c.suffix}-hb2"
    _post(story, post, c.stranger, copy, is_reshare=True)
    view = _case(story, case_id_for(post, "intimate_media"), "the re-upload's case", expect="actioned")
    d = view["decision"]
    story.notes["entry_id"] = view["detection"]["matches"][0]["entry_id"]
    story.say.fact(
        f"consent-guard opened case {view['case']['case_id']} itself: {view['case']['state']}, {d['enforcement']} "
        f"(rules {', '.join(d['rule_ids'])}, automated {d['automated']})"
    )
    match = view["detection"]["matches"][0]
    story.say.fact(
        f"matched {match['bank']} entry {match['entry_id']} by {match['signal']} at distance {match['distance']}"
    )
    found = next(line for line in d["statement_of_reasons"].splitlines() if line.startswith("How this was found"))
    story.say.block("statement of reasons (excerpt)", found, lines=3)
    story.wait_for_notifications(c.stranger, ["statement_of_reasons"])
    story.say.fact(f"{c.stranger} is sent the statement of reasons, with how to appeal")


def person_protects_a_photo(story: Story) -> None:
    c = story.cast
    mine = signals_of(jpeg(photo(zlib.crc32(c.suffix.encode()) + 1)))
    _, registered = story.call(
        story.person(c.bystander),
        "POST",
        "/me/protected-media",
        201,
        json={
            "category": "intimate_media",
            "media_type": "photo",
            "pdq": mine["pdq"],
            "pdq_quality": mine["pdq_quality"],
        },
    )
    story.say.fact(
        f"{c.bystander}: POST /me/protected-media (hashes computed on the device) -> {registered['protected_media_id']}"
    )
    post = f"post-{c.suffix}-hb3"
    _post(story, post, c.stranger, signals_of(reencoded_and_resized(photo(zlib.crc32(c.suffix.encode()) + 1))))
    view = _case(story, case_id_for(post, "intimate_media"), "the upload's case in review", expect="in_review")
    story.say.fact(
        f"case {view['case']['case_id']}: in_review at priority {view['case']['review_priority']} "
        f"(rules {', '.join(view['decision']['rule_ids'])}); never removed automatically"
    )
    reporters = [(r["reporter_id"], r["relationship"]) for r in view["reports"]]
    story.say.fact(f"the case shows {reporters} as first-person reporter; the moderator sees the match")
    inbox = story.wait_for_notifications(c.bystander, ["protected_media_matched"])
    told = next(n for n in inbox if n["kind"] == "protected_media_matched")
    story.say.fact(f"{c.bystander} is told: {told['subject']!r}")


def overturn_disables_the_entry(story: Story) -> None:
    from local.demo import DemoFailed, staff

    c = story.cast
    case_id = story.reports["hb_removed"]["case_id"]
    story.call(story.person(c.author), "POST", f"/cases/{case_id}/appeals", 200, json={"reason": "It is not her."})
    reviewer = staff(story, f"appeals-{c.suffix}", "appeals")
    _, case = story.call(reviewer, "GET", f"/cases/{case_id}", 200)
    _, overturned = story.call(
        reviewer,
        "POST",
        f"/cases/{case_id}/appeals/decision",
        200,
        json={"result": "overturn", "rule_id": "PIM-10", "version": case["case"]["version"]},
    )
    story.say.fact(f"the author appeals; an appeal reviewer overturns: {overturned['case']['state']}")
    entry_id = story.notes["entry_id"]
    _, entry = story.call(staff(story, f"mod-{c.suffix}", "moderators"), "GET", f"/admin/bank-entries/{entry_id}", 200)
    story.say.fact(
        f"GET /admin/bank-entries/{entry_id} -> {entry['bank']}, {entry['status']} ({entry['disabled_reason']})"
    )
    original = story.notes["original"]
    _, check = story.call(story.platform, "POST", "/media/matches", 200, json={"media_type": "photo", **original})
    story.say.fact(
        f"POST /media/matches with the photo's hashes -> {check['action']} ({check['rule_id']}): "
        + ", ".join(f"{m['bank']} {m['signal']} {m['distance']}" for m in check["matches"])
    )
    post = f"post-{c.suffix}-hb4"
    _post(story, post, c.stranger, original)
    time.sleep(3)  # the matching and evaluation queues get their turn
    response = staff(story, f"mod-{c.suffix}", "moderators").get(f"/cases/{case_id_for(post, 'intimate_media')}")
    if response.status_code != 404 or check["action"] != "none":
        raise DemoFailed(f"the later upload was acted on: {response.status_code} {check['action']}")
    story.say.fact("the later upload of the very same file opens no case: the removal was overturned")


STEPS = [
    ("Hash bank: a photo is removed (intimate media, the person shown reports it)", photo_removed),
    ("The same photo, re-encoded and resized, uploaded by another account", reupload_removed),
    ("A person protects a photo of themselves (hashes only); a later upload", person_protects_a_photo),
    ("An appeal overturns the first removal: its bank entry is disabled", overturn_disables_the_entry),
]
