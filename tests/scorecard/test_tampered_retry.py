"""Check 3: a retry with the same Idempotency-Key and a changed body is refused (409/422) and changes nothing."""

from __future__ import annotations

from typing import Any

from tests.handlers.conftest import Stack

SUBMIT = "report_intake/submit_report.json"
KEY = "7d1c2b9e-5a44-4a5e-9f0e-0c6a8e1f2d3b"


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "post_id": "post-1001",
        "category": "private_media",
        "relationship": "self",
        "description": "a photo of me, posted without asking",
        "attestations": {"accurate_and_complete": True, "information_is_mine": True, "not_published_elsewhere": True},
    }
    body.update(changes)
    return body


TAMPERED = {
    "another post": _body(post_id="post-2002"),
    "another category": _body(category="contact_information"),
    "another relationship": _body(
        relationship="other", attestations={"accurate_and_complete": True}, description="someone else"
    ),
    "another description": _body(description="a photo of me, reworded"),
    "a flag added": _body(live_location=True),
    "another locale": _body(locale="de"),
}


def _state(stack: Stack) -> list[dict[str, Any]]:
    return sorted(stack.table().scan()["Items"], key=lambda i: (i["PK"], i["SK"]))


def test_a_tampered_retry_is_409_and_changes_nothing(stack: Stack, record_property: Any) -> None:
    stack.post_context()
    status, original, _ = stack.http(SUBMIT, body=_body(), sub="user-alice", headers={"idempotency-key": KEY})
    assert status == 202
    before, depth = _state(stack), stack.depth("EvaluationQueue")

    for label, body in TAMPERED.items():
        status, answer, headers = stack.http(SUBMIT, body=body, sub="user-alice", headers={"idempotency-key": KEY})
        assert status == 409, (label, status, answer)
        assert answer["code"] == "idempotency_key_reused", label
        assert "report_id" not in answer and "idempotent-replayed" not in headers, label
    # invalid bodies are refused before the key is even looked at
    status, answer, _ = stack.http(
        SUBMIT, body=_body(category="spam"), sub="user-alice", headers={"idempotency-key": KEY}
    )
    assert status == 422 and answer["code"] == "validation_error"

    assert _state(stack) == before  # no report, marker, quota count or case was written or changed
    assert stack.depth("EvaluationQueue") == depth
    # the untampered retry still gets the original answer
    status, again, headers = stack.http(SUBMIT, body=_body(), sub="user-alice", headers={"idempotency-key": KEY})
    assert (status, again, headers.get("idempotent-replayed")) == (202, original, "true")
    assert _state(stack) == before
    record_property("figure", f"{len(TAMPERED)} tampered retries -> 409, 1 invalid -> 422, 0 items changed")


def test_the_key_belongs_to_its_reporter(stack: Stack) -> None:
    """Another person using the same key value is not a replay of someone else's report (and learns nothing)."""
    _, alice, _ = stack.http(SUBMIT, body=_body(), sub="user-alice", headers={"idempotency-key": KEY})
    status, mallory, _ = stack.http(
        SUBMIT,
        body=_body(relationship="other", attestations={"accurate_and_complete": True}),
        sub="user-mallory",
        headers={"idempotency-key": KEY},
    )
    assert status == 202 and mallory["report_id"] != alice["report_id"]
