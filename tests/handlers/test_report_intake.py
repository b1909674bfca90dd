"""The report intake function over API Gateway HTTP API events (events/report_intake/*.json) on moto."""

from __future__ import annotations

import json

from tests.handlers.conftest import Stack

SUBMIT = "report_intake/submit_report.json"
GET = "report_intake/get_report.json"
POST_CONTEXT = "report_intake/put_post_context.json"


def _report(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "post_id": "post-1001",
        "category": "private_media",
        "relationship": "self",
        "description": "a photo of me, posted without asking",
        "attestations": {"accurate_and_complete": True, "information_is_mine": True, "not_published_elsewhere": True},
    }
    body.update(overrides)
    return body


def test_the_sample_event_is_accepted_and_queued(stack: Stack) -> None:
    status, body, _ = stack.http(SUBMIT)

    assert status == 202
    assert body["status"] == "received"
    assert body["report_id"].startswith("r_") and body["case_id"].startswith("c_")
    messages = stack.receive("EvaluationQueue")
    # with where the report belongs (the evaluation's first read is one batch): ids only, nothing the reporter wrote
    assert [json.loads(m["Body"]) for m in messages] == [
        {
            "type": "report_submitted",
            "report_id": body["report_id"],
            "case_id": body["case_id"],
            "post_id": "post-1001",
            "reporter_id": "user-alice",
        }
    ]


def test_the_reporter_is_the_token_subject_and_a_body_cannot_set_it(stack: Stack) -> None:
    status, body, _ = stack.http(SUBMIT, body=_report(reporter_id="someone-else"), sub="user-carol")
    assert status == 422
    assert body["code"] == "validation_error"
    assert {"loc": ["body", "reporter_id"], "type": "extra_forbidden"} in [
        {"loc": e["loc"], "type": e["type"]} for e in body["errors"]
    ]


def test_mass_assignment_of_status_or_version_is_rejected(stack: Stack) -> None:
    for field in ("status", "version", "case_id"):
        status, body, _ = stack.http(SUBMIT, body=_report(**{field: "x"}))
        assert status == 422, field
        assert body["errors"][0]["type"] == "extra_forbidden"


def test_unknown_category_is_422_with_the_field_named(stack: Stack) -> None:
    status, body, _ = stack.http(SUBMIT, body=_report(category="spam"))
    assert status == 422
    assert body["errors"][0]["loc"] == ["body", "category"]
    assert stack.depth("EvaluationQueue") == 0


def test_validation_errors_never_echo_the_rejected_input(stack: Stack) -> None:
    phone = "+44 7700 900123"
    status, body, _ = stack.http(SUBMIT, body=_report(post_id=phone, description=phone * 300))
    assert status == 422
    assert phone not in json.dumps(body)
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "post_id"), ("body", "description")}


def test_malformed_json_is_a_client_error(stack: Stack) -> None:
    status, body, _ = stack.http(SUBMIT, raw_body="{not json")
    assert status == 422
    assert body["code"] == "validation_error"


def test_the_good_faith_statement_is_required(stack: Stack) -> None:
    status, body, _ = stack.http(SUBMIT, body=_report(attestations={"accurate_and_complete": False}))
    assert status == 422
    assert body["errors"][0]["loc"][:3] == ["body", "attestations", "accurate_and_complete"]


def test_a_representative_must_name_the_account_they_represent(stack: Stack) -> None:
    status, body, _ = stack.http(SUBMIT, body=_report(relationship="authorized_representative"))
    assert status == 422
    assert "represented_account_id is required" in body["errors"][0]["msg"]


def test_oversized_bodies_are_413(stack: Stack) -> None:
    status, body, _ = stack.http(SUBMIT, raw_body=json.dumps(_report(description="x" * 20_000)))
    assert status == 413
    assert body["code"] == "payload_too_large"


def test_a_duplicate_report_returns_the_original_and_creates_nothing(stack: Stack) -> None:
    first_status, first, _ = stack.http(SUBMIT, body=_report(), headers={"idempotency-key": "k1"})
    again_status, again, headers = stack.http(
        SUBMIT, body=_report(description="same report, reworded"), headers={"idempotency-key": "k2"}
    )

    assert (first_status, again_status) == (202, 202)
    assert again == first
    assert headers.get("idempotent-replayed") == "true"
    assert stack.depth("EvaluationQueue") == 1
    reports = [i for i in stack.table().scan()["Items"] if i["type"] == "report"]
    assert len(reports) == 1


def test_the_same_idempotency_key_returns_the_original(stack: Stack) -> None:
    _, first, _ = stack.http(SUBMIT)
    status, again, _ = stack.http(SUBMIT)
    assert status == 202 and again == first


def test_an_idempotency_key_reused_with_another_body_is_409_and_changes_nothing(stack: Stack) -> None:
    stack.http(SUBMIT)
    status, body, _ = stack.http(
        SUBMIT, body=_report(post_id="post-2002"), headers={"idempotency-key": "3f1c0a4e-8d2b-4f7a-9c55-7e1b2d3c4a5f"}
    )
    assert status == 409
    assert body["code"] == "idempotency_key_reused"
    assert stack.depth("EvaluationQueue") == 1


def test_idempotency_records_hold_no_request_data(stack: Stack) -> None:
    stack.http(SUBMIT)
    stored = [i for i in stack.table().scan()["Items"] if i["type"] in ("idempotency", "dedupe")]
    assert len(stored) == 2
    text = json.dumps(stored, default=str)
    assert "posted without" not in text and "never agreed" not in text
    assert "3f1c0a4e" not in text  # the key itself is stored only as a hash


def test_a_reporter_reads_their_own_report(stack: Stack) -> None:
    _, accepted, _ = stack.http(SUBMIT)
    status, view, _ = stack.http(GET, path_params={"report_id": accepted["report_id"]})
    assert status == 200
    assert view["report_id"] == accepted["report_id"]
    assert view["status"] == "received"
    assert "description" not in view


def test_another_users_report_is_404_exactly_like_a_missing_one(stack: Stack) -> None:
    _, accepted, _ = stack.http(SUBMIT)
    other = stack.http(GET, path_params={"report_id": accepted["report_id"]}, sub="user-mallory")
    missing = stack.http(GET, path_params={"report_id": "r_doesnotexist"}, sub="user-mallory")
    assert other[0] == missing[0] == 404
    assert other[1] == missing[1]


def test_context_routes_refuse_people_even_past_the_gateway(stack: Stack) -> None:
    status, body, _ = stack.http(POST_CONTEXT, platform=False, sub="user-alice")
    assert status == 403
    assert body["code"] == "forbidden"


def test_reports_refuse_the_platforms_machine_token(stack: Stack) -> None:
    status, _, _ = stack.http(SUBMIT, platform=True)
    assert status == 403


def test_no_claims_at_all_is_forbidden(stack: Stack) -> None:
    from tests.conftest import load_event

    event = load_event(SUBMIT)
    event["requestContext"]["authorizer"] = {}
    response = stack.handler("report_intake").lambda_handler(event, stack.context)
    assert response["statusCode"] == 403


def test_a_body_that_is_not_utf8_is_422_not_500(stack: Stack) -> None:
    import base64

    from tests.conftest import load_event

    event = load_event(SUBMIT)
    event["body"] = base64.b64encode(b"\xff\xfe").decode()
    event["isBase64Encoded"] = True
    response = stack.handler("report_intake").lambda_handler(event, stack.context)
    assert response["statusCode"] == 422
    assert json.loads(response["body"])["code"] == "validation_error"
