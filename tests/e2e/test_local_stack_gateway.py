"""The local stack's emulation of API Gateway and its local-only routes (not the product's behaviour)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from local.jwt_local import AUDIENCE, ISSUER, mint_token
from tests.e2e.conftest import LocalStackHandle

pytestmark = pytest.mark.e2e

UNAUTHORIZED = {"message": "Unauthorized"}


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, **overrides}


def test_unknown_route_is_404_like_api_gateway(local_stack: LocalStackHandle) -> None:
    response = local_stack.client.anonymous().get("/no/such/route")

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_known_path_with_an_undeclared_method_is_404(local_stack: LocalStackHandle) -> None:
    response = local_stack.client.anonymous().delete("/reports")

    assert response.status_code == 404


def test_route_without_a_token_is_401(local_stack: LocalStackHandle) -> None:
    response = local_stack.client.anonymous().get("/me/notifications")

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_expired_token_is_401(local_stack: LocalStackHandle) -> None:
    expired = local_stack.client.with_token(mint_token("alice", ttl=-60))

    response = expired.get("/me/notifications")

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_token_signed_with_another_key_is_401(local_stack: LocalStackHandle) -> None:
    forged = jwt.encode(_claims(), "not-the-local-development-key-" * 3, algorithm="HS256")

    response = local_stack.client.with_token(forged).get("/me/notifications")

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_token_with_a_tampered_payload_is_401(local_stack: LocalStackHandle) -> None:
    header, _, signature = mint_token("alice").split(".")
    payload = base64.urlsafe_b64encode(json.dumps(_claims(sub="mallory")).encode()).rstrip(b"=").decode()

    response = local_stack.client.with_token(f"{header}.{payload}.{signature}").get("/me/notifications")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(mint_token("alice", iss="https://someone-else.example"), id="wrong-issuer"),
        pytest.param(mint_token("alice", aud="another-client"), id="wrong-audience"),
        pytest.param(jwt.encode(_claims(), key="", algorithm="none"), id="alg-none"),
        pytest.param("not-a-jwt", id="garbage"),
    ],
)
def test_tokens_api_gateway_would_reject_are_401(local_stack: LocalStackHandle, token: str) -> None:
    response = local_stack.client.with_token(token).get("/me/notifications")

    assert response.status_code == 401


def test_platform_route_with_a_user_token_lacking_the_scope_is_403(local_stack: LocalStackHandle) -> None:
    admin = local_stack.client.as_user("alice", groups=["moderators", "admins"])

    response = admin.put("/context/posts/post-1", json={})

    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_platform_route_with_the_platform_scope_passes_the_authorizer(local_stack: LocalStackHandle) -> None:
    response = local_stack.client.as_platform().put("/context/posts/post-1", json={})

    assert response.status_code not in (401, 403)


def test_body_over_the_http_api_payload_limit_is_413(local_stack: LocalStackHandle) -> None:
    alice = local_stack.client.as_user("alice")

    response = alice.post("/reports", content=b"x" * (10 * 1024 * 1024 + 1))

    assert response.status_code == 413


def test_openapi_json_is_a_merged_document(local_stack: LocalStackHandle) -> None:
    response = local_stack.client.local.get("/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "consent-guard"
    assert isinstance(document["paths"], dict)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_page_loads_the_openapi_document(local_stack: LocalStackHandle) -> None:
    response = local_stack.client.local.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script src="/docs/assets/init.js">' in response.text  # no inline script: the CSP forbids it
    init = local_stack.client.local.get("/docs/assets/init.js")
    assert init.status_code == 200 and '"/openapi.json"' in init.text


def test_health_lists_every_function_of_the_template(local_stack: LocalStackHandle) -> None:
    health = local_stack.client.health()

    assert health["status"] == "ok"
    assert set(health["functions"]) == {
        "ReportIntakeFunction",
        "PolicyEvaluationFunction",
        "NotificationFunction",
        "EffectsFunction",
        "CaseApiFunction",
        "ScheduledReviewFunction",
        "StatementSubmitterFunction",
        "MediaMatchingFunction",
        "BankIndexFunction",
    }


def test_queues_lists_the_evaluation_queue_and_its_dlq(local_stack: LocalStackHandle) -> None:
    queues = local_stack.client.queues()

    assert queues["EvaluationQueue"]["dead_letter_queue"] == "EvaluationDLQ"
    assert queues["EvaluationDLQ"]["source_queue"] == "EvaluationQueue"
    assert {"visible", "in_flight", "total"} <= queues["EvaluationDLQ"].keys()


def test_redrive_only_accepts_dead_letter_queues(local_stack: LocalStackHandle) -> None:
    local = local_stack.client.local

    assert local.post("/local/queues/EvaluationQueue/redrive").status_code == 400
    assert local.post("/local/queues/NoSuchQueue/redrive").status_code == 404
    assert local_stack.client.redrive("EvaluationDLQ")["source_queue"] == "EvaluationQueue"


def test_events_is_a_json_list(local_stack: LocalStackHandle) -> None:
    assert isinstance(local_stack.client.events(), list)
