"""Check 11: every route is authorised twice. The template's routes and the functions' own routes are the same set;
each template route is behind the Cognito JWT authorizer (platform routes with the platform scope); and each route's
code checks the caller itself: with no authenticated claims it answers 403, and a caller without the role (or
someone else's object) gets 403/404, whatever the gateway let through."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

from local.template import http_routes, resources
from tests.conftest import EVENTS
from tests.handlers.conftest import Stack

PLATFORM_SCOPE = "consent-guard/platform"
# Routes documented as public (README, OpenAPI `security: []`). There are none: every route needs a token.
PUBLIC_ROUTES: set[str] = set()

MOD = ["moderators"]
# route -> callers the code must refuse, with the status: (label, invocation kwargs, status)
DENIED: dict[str, list[tuple[str, dict[str, Any], int]]] = {
    "POST /reports": [("the platform's token", {"platform": True}, 403)],
    "GET /reports/{report_id}": [
        ("the platform's token", {"platform": True}, 403),
        ("another person", {"sub": "user-mallory"}, 404),
    ],
    "PUT /context/posts/{post_id}": [
        ("a person", {"sub": "user-alice"}, 403),
        ("a moderator", {"sub": "m", "groups": MOD}, 403),
    ],
    "POST /context/posts/{post_id}/deleted": [("a person", {"sub": "user-alice"}, 403)],
    "PUT /context/accounts/{account_id}": [("a person", {"sub": "user-alice", "groups": ["admins"]}, 403)],
    "PUT /context/media/{media_id}": [("a person", {"sub": "user-alice"}, 403)],
    "GET /me/notifications": [
        ("another person's cursor", {"sub": "user-mallory", "query": {"cursor": "@inbox"}}, 400),
        ("a person asking for the moderators' inbox", {"sub": "user-mallory", "query": {"inbox": "moderators"}}, 403),
    ],
    "GET /cases": [
        ("a person", {"sub": "user-alice", "query": {"queue": "review"}}, 403),
        ("the platform's token", {"platform": True, "query": {"queue": "review"}}, 403),
    ],
    "GET /cases/{case_id}": [("a person who is not the author", {"sub": "user-mallory"}, 404)],
    "GET /cases/{case_id}/reports": [
        ("a person who is not the author", {"sub": "user-mallory"}, 404),
        ("the author", {"sub": "user-bob"}, 403),
        ("a reporter of the case", {"sub": "user-alice"}, 404),
        ("the platform's token", {"platform": True}, 404),
    ],
    # whoever cannot see cases learns nothing from a claim, not even that the case exists
    "POST /cases/{case_id}/claim": [("a person", {"sub": "user-alice"}, 404)],
    "POST /reports/{report_id}/appeals": [
        ("another person", {"sub": "user-mallory"}, 404),
        ("the platform's token", {"platform": True}, 403),
    ],
    "POST /reports/{report_id}/confirmations": [
        ("another person", {"sub": "user-mallory"}, 404),
        ("the platform's token", {"platform": True}, 403),
    ],
    "POST /cases/{case_id}/decisions": [
        ("a person", {"sub": "user-alice"}, 403),
        ("an appeal reviewer", {"sub": "a", "groups": ["appeals"]}, 403),
    ],
    "POST /cases/{case_id}/appeals": [
        ("a stranger", {"sub": "user-mallory"}, 404),
        ("the platform's token", {"platform": True}, 403),
    ],
    "POST /cases/{case_id}/appeals/decision": [("a moderator", {"sub": "m", "groups": MOD}, 403)],
    "PUT /admin/accounts/{account_id}/dedicated-exposure": [("a moderator", {"sub": "m", "groups": MOD}, 403)],
    "GET /cases/counts": [
        ("a person", {"sub": "user-alice", "query": {"queue": "review"}}, 403),
        ("a moderator asking for the appeals queue", {"sub": "m", "groups": MOD, "query": {"queue": "appeals"}}, 403),
    ],
    "GET /policy/rules": [
        ("a person", {"sub": "user-alice", "query": {"category": "contact_information"}}, 403),
        ("the platform's token", {"platform": True, "query": {"category": "contact_information"}}, 403),
    ],
    "POST /cases/{case_id}/decisions/preview": [
        ("a person", {"sub": "user-alice"}, 403),
        ("a trusted flagger", {"sub": "user-tf", "groups": ["trusted_flaggers"]}, 403),
    ],
    "POST /cases/{case_id}/media-views": [
        ("a person", {"sub": "user-alice"}, 403),
        ("the platform's token", {"platform": True}, 403),
    ],
    "GET /stats": [
        ("a person", {"sub": "user-alice"}, 403),
        ("a moderator", {"sub": "m", "groups": MOD}, 403),
        ("an appeal reviewer", {"sub": "a", "groups": ["appeals"]}, 403),
        ("the platform's token", {"platform": True}, 403),
    ],
    "POST /me/protected-media": [("the platform's token", {"platform": True}, 403)],
    "GET /me/protected-media": [("the platform's token", {"platform": True}, 403)],
    "DELETE /me/protected-media/{protected_media_id}": [
        ("another person", {"sub": "user-mallory"}, 404),
        ("the platform's token", {"platform": True}, 403),
    ],
    "GET /admin/bank-entries/{entry_id}": [("a person", {"sub": "user-alice"}, 403)],
    "POST /admin/bank-entries/{entry_id}/status": [
        ("a moderator", {"sub": "m", "groups": MOD}, 403),
        ("a person", {"sub": "user-alice"}, 403),
    ],
    "POST /media/matches": [
        ("a person", {"sub": "user-alice"}, 403),
        ("a moderator", {"sub": "m", "groups": MOD}, 403),
    ],
}


def _event_files() -> dict[str, str]:
    files = {}
    for path in EVENTS.glob("*/*.json"):
        route_key = json.loads(path.read_text()).get("routeKey")
        if route_key:
            files[route_key] = f"{path.parent.name}/{path.name}"
    return files


def _app_routes() -> dict[str, str]:
    """route key -> owning function's CodeUri, from each HTTP function's powertools resolver."""
    import importlib

    out: dict[str, str] = {}
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        code_uri = str(resource["Properties"]["CodeUri"]).rstrip("/")
        module = importlib.import_module(f"{code_uri.replace('/', '.')}.app")
        resolver = getattr(module, "app", None)
        if resolver is None:
            continue
        schema = json.loads(resolver.get_openapi_json_schema())
        for path, operations in schema["paths"].items():
            for method in operations:
                out[f"{method.upper()} {re.sub(r'<(\w+)>', r'{\1}', path)}"] = code_uri
        del logical_id
    return out


def test_template_routes_and_app_routes_are_the_same(record_property: Any) -> None:
    template = {f"{r['method']} {r['path']}": r["code_uri"] for r in http_routes()}
    app = _app_routes()
    assert template == app  # same routes, each served by the function the template sends it to
    assert set(DENIED) | PUBLIC_ROUTES == set(template), "every route needs its denied callers listed here"
    assert set(_event_files()) >= set(template), "every route needs an event file"
    record_property("figure", f"{len(template)} routes in template == app")


def test_every_route_is_behind_the_jwt_authorizer_with_platform_scopes() -> None:
    api = resources("AWS::Serverless::HttpApi")["HttpApi"]["Properties"]
    authorizer = api["Auth"]["Authorizers"]["CognitoJwt"]
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    assert authorizer["JwtConfiguration"]["issuer"] and authorizer["JwtConfiguration"]["audience"]
    platform_routes = _routes_calling("require_platform")
    assert platform_routes, "the platform's routes are found in the code"
    for route in http_routes():
        key = f"{route['method']} {route['path']}"
        if key in PUBLIC_ROUTES:
            continue
        assert route["authorizer"] == "CognitoJwt", key
        # the gateway asks for the platform scope exactly where the code requires the platform
        assert (route["scopes"] == [PLATFORM_SCOPE]) == (key in platform_routes), key


def _routes_calling(check: str) -> set[str]:
    """Route keys whose service method calls principal.<check>() (read from the source)."""
    from consent_guard.http import case_api, intake_api, matching_api
    from consent_guard.matching.matcher import PdqMatcher
    from consent_guard.services.banking import BankService
    from consent_guard.services.cases import CaseService
    from consent_guard.services.intake import IntakeService

    methods = {
        name
        for cls in (IntakeService, CaseService, BankService, PdqMatcher)
        for name, fn in inspect.getmembers(cls, inspect.isfunction)
        if f".{check}(" in inspect.getsource(fn)
    }
    out = set()
    for module in (intake_api, case_api, matching_api):
        tree = ast.parse(Path(inspect.getfile(module)).read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            calls = {
                c.func.attr for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
            }
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute):
                    path = re.sub(r"<(\w+)>", r"{\1}", ast.literal_eval(decorator.args[0]))
                    if calls & methods:
                        out.add(f"{decorator.func.attr.upper()} {path}")
    return out


def test_every_route_function_reads_the_caller_from_the_token() -> None:
    from consent_guard.http import case_api, intake_api, matching_api

    for module in (intake_api, case_api, matching_api):
        tree = ast.parse(Path(inspect.getfile(module)).read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.FunctionDef)
                and node.decorator_list
                and any(
                    isinstance(d, ast.Call) and getattr(d.func, "attr", "") in ("get", "post", "put", "delete", "patch")
                    for d in node.decorator_list
                )
            ):
                names = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
                assert "current_principal" in names, f"{module.__name__}.{node.name}"


@pytest.fixture
def objects(stack: Stack) -> dict[str, str]:
    """Real objects for the path parameters: alice's removed report and case, and a notification cursor."""
    stack.post_context()
    accepted = stack.report(sub="user-alice")
    stack.run_pipeline()
    _, page, _ = stack.http("case_api/my_notifications.json", sub="user-alice", query={"limit": "1"})
    assert page["next_cursor"], page  # a real cursor of alice's inbox, for the cross-inbox attempt
    status, protected, _ = stack.http(
        "case_api/register_protected_media.json",
        body={"category": "private_media", "media_type": "photo", "sha256": "ab" * 32},
        sub="user-alice",
    )
    assert status == 201, protected
    return {
        "protected_media_id": protected["protected_media_id"],
        "entry_id": protected["protected_media_id"],
        "report_id": accepted["report_id"],
        "case_id": accepted["case_id"],
        "post_id": "post-1001",
        "account_id": "user-bob",
        "media_id": "post-1001-m0",
        "cursor": page["next_cursor"],
    }


def _invoke(stack: Stack, route: str, objects: dict[str, str], kwargs: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    event_file = _event_files()[route]
    params = {name: objects[name] for name in re.findall(r"\{(\w+)\}", route)}
    kwargs = dict(kwargs)
    if "query" in kwargs:
        kwargs["query"] = {k: objects["cursor"] if v == "@inbox" else v for k, v in kwargs["query"].items()}
    status, body, _ = stack.http(event_file, path_params=params or None, **kwargs)
    return status, body


def test_every_route_refuses_in_code(stack: Stack, objects: dict[str, str], record_property: Any) -> None:
    from tests.conftest import load_event

    refused = 0
    for route in sorted(DENIED):
        # no authenticated caller at all (a gateway misconfigured to let it through): 403 from the code
        event = load_event(_event_files()[route])
        event["requestContext"]["authorizer"] = {"jwt": {"claims": {}, "scopes": None}}
        function = _event_files()[route].split("/", 1)[0]
        response = stack.handler(function).lambda_handler(event, stack.context)
        assert response["statusCode"] == 403, (route, response)
        refused += 1
        for label, kwargs, expected in DENIED[route]:
            status, body = _invoke(stack, route, objects, kwargs)
            assert status == expected, (route, label, status, body)
            refused += 1
    record_property(
        "figure", f"{refused} refusals in code over {len(DENIED)} routes (no claims -> 403, no role -> 403/404)"
    )
