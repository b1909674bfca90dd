"""consent_guard.http.router: routing, validation with field errors, the exception mapping and the OpenAPI document
generated from the route table (the routes' behaviour through the real functions is in tests/handlers)."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from consent_guard.http.router import Header, Path, Query, RequestValidationError, Response, Router


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int = 0


class Teapot(Exception):
    pass


class SmallTeapot(Teapot):
    pass


Id = Annotated[str, Path(pattern=r"^[a-z]{1,8}$")]

app = Router()
seen: list[dict[str, Any]] = []


def _ok(**values: Any) -> Response:
    seen.append(values)
    return Response(200, "application/json", json.dumps({"ok": True}))


@app.get("/things/counts", summary="static", tags=["things"])
def counts() -> Response:
    return _ok(route="counts")


@app.get("/things/<thing_id>", responses={200: {"description": "a thing"}})
def get_thing(
    thing_id: Id,
    limit: Annotated[int, Query(ge=1, le=10)] = 5,
    kind: Annotated[Literal["a", "b"] | None, Query(description="which")] = None,
    since: Annotated[str | None, Query(alias="from", max_length=4)] = None,
) -> Response:
    return _ok(route="get", thing_id=thing_id, limit=limit, kind=kind, since=since)


@app.post(
    "/things/<thing_id>",
    responses={201: {"description": "made", "content": {"application/json": {"model": Body}}}},
)
def make_thing(
    thing_id: Id, body: Body, key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=8)] = None
) -> Response:
    return _ok(route="post", thing_id=thing_id, body=body, key=key)


@app.delete("/things/<thing_id>")
def fail(thing_id: Id) -> Response:
    raise SmallTeapot(thing_id) if thing_id == "small" else ValueError(thing_id)


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response:
    errors = [{"loc": list(e["loc"]), "type": e["type"]} for e in exc.errors()]
    return Response(422, "application/json", json.dumps({"errors": errors}))


@app.exception_handler(Teapot)
def _teapot(exc: Teapot) -> Response:
    return Response(418, "text/plain", "teapot")


def _event(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {
        "rawPath": path,
        "requestContext": {"http": {"method": method}, "stage": "$default"},
        "headers": extra.pop("headers", {}),
        **extra,
    }


def _call(method: str, path: str, **extra: Any) -> tuple[int, Any]:
    seen.clear()
    answer = app.resolve(_event(method, path, **extra))
    assert answer["isBase64Encoded"] is False and answer["cookies"] == []
    body = answer["body"]
    is_json = answer["headers"].get("Content-Type") == "application/json"
    return answer["statusCode"], json.loads(body) if is_json else body


def test_static_routes_win_over_dynamic_ones_and_path_parameters_are_validated() -> None:
    assert _call("GET", "/things/counts") == (200, {"ok": True})
    assert seen == [{"route": "counts"}]
    assert _call("GET", "/things/abc")[0] == 200
    assert seen == [{"route": "get", "thing_id": "abc", "limit": 5, "kind": None, "since": None}]
    status, body = _call("GET", "/things/ABC")
    assert (status, body["errors"]) == (422, [{"loc": ["path", "thing_id"], "type": "string_pattern_mismatch"}])
    assert seen == []


def test_query_parameters_are_converted_and_every_bad_one_is_reported() -> None:
    assert _call("GET", "/things/abc", queryStringParameters={"limit": "7", "kind": "b", "from": "2026"})[0] == 200
    assert seen[0] | {} == {"route": "get", "thing_id": "abc", "limit": 7, "kind": "b", "since": "2026"}
    status, body = _call("GET", "/things/abc", queryStringParameters={"limit": "11", "kind": "c", "from": "12345"})
    assert status == 422
    assert body["errors"] == [
        {"loc": ["query", "limit"], "type": "less_than_equal"},
        {"loc": ["query", "kind"], "type": "literal_error"},
        {"loc": ["query", "from"], "type": "string_too_long"},
    ]


def test_the_body_is_validated_with_the_model_and_headers_by_name() -> None:
    body = json.dumps({"name": "x", "count": 2})
    status, _ = _call("POST", "/things/abc", body=body, headers={"idempotency-key": "k1"})
    assert status == 200 and seen[0]["body"] == Body(name="x", count=2) and seen[0]["key"] == "k1"
    # any case of the header's name; base64 bodies decoded
    encoded = base64.b64encode(body.encode()).decode()
    _call("POST", "/things/abc", body=encoded, isBase64Encoded=True, headers={"Idempotency-Key": "k2"})
    assert seen[0]["key"] == "k2" and seen[0]["body"].count == 2

    def errors(**extra: Any) -> list[dict[str, Any]]:
        status, answer = _call("POST", "/things/abc", **extra)
        assert status == 422
        return list(answer["errors"])

    assert errors() == [{"loc": ["body"], "type": "missing"}]
    assert errors(body="") == [{"loc": ["body"], "type": "missing"}]
    assert errors(body="null") == [{"loc": ["body"], "type": "missing"}]
    assert errors(body='{"name": ') == [{"loc": ["body", 9], "type": "json_invalid"}]
    assert errors(body="[1]") == [{"loc": ["body"], "type": "model_type"}]
    assert errors(body='{"name": "x", "extra": 1}') == [{"loc": ["body", "extra"], "type": "extra_forbidden"}]
    # path, header and body errors together, in that order
    assert errors(body='{"count": "x"}', headers={"idempotency-key": "123456789"}) == [
        {"loc": ["header", "idempotency-key"], "type": "string_too_long"},
        {"loc": ["body", "name"], "type": "missing"},
        {"loc": ["body", "count"], "type": "int_parsing"},
    ]


def test_exceptions_go_to_the_most_specific_handler_and_unmapped_ones_propagate() -> None:
    assert _call("DELETE", "/things/small") == (418, "teapot")
    with pytest.raises(ValueError, match="big"):
        app.resolve(_event("DELETE", "/things/big"))


def test_unknown_routes_and_methods_are_404_and_a_stage_prefix_is_stripped() -> None:
    assert _call("GET", "/nothing") == (404, {"statusCode": 404, "message": "Not found"})
    assert _call("PATCH", "/things/abc")[0] == 404
    seen.clear()
    event = _event("GET", "/prod/things/counts")
    event["requestContext"]["stage"] = "prod"
    assert app.resolve(event)["statusCode"] == 200 and seen == [{"route": "counts"}]


def test_the_current_event_is_only_there_while_answering() -> None:
    with pytest.raises(RuntimeError):
        app.current_event  # noqa: B018 - the property is what is tested


def test_a_parameter_without_a_location_is_refused_when_the_route_is_analysed() -> None:
    router = Router()

    @router.get("/x")
    def bad(limit: int = 1) -> Response:
        return Response(200)

    with pytest.raises(TypeError, match="Path\\(\\), Query\\(\\) or Header\\(\\)"):
        router.resolve(_event("GET", "/x"))


def test_the_openapi_document_is_the_route_table() -> None:
    doc = app.get_openapi_schema(title="t", version="1")
    assert doc["openapi"] == "3.1.0" and doc["info"] == {"title": "t", "version": "1"}
    assert set(doc["paths"]) == {"/things/counts", "/things/{thing_id}"}
    assert set(doc["paths"]["/things/{thing_id}"]) == {"get", "post", "delete"}
    get = doc["paths"]["/things/{thing_id}"]["get"]
    assert get["operationId"] == "get_thing_things__thing_id__get"
    params = {p["name"]: p for p in get["parameters"]}
    assert params["thing_id"] == {
        "name": "thing_id",
        "in": "path",
        "required": True,
        "schema": {"pattern": "^[a-z]{1,8}$", "title": "Thing Id", "type": "string"},
    }
    assert params["limit"]["schema"] == {"default": 5, "maximum": 10, "minimum": 1, "title": "Limit", "type": "integer"}
    assert params["kind"]["description"] == "which" and not params["kind"]["required"]
    assert params["from"]["in"] == "query" and params["from"]["schema"]["anyOf"][0] == {
        "maxLength": 4,
        "type": "string",
    }
    post = doc["paths"]["/things/{thing_id}"]["post"]
    assert post["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}},
    }
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Body"}
    assert {p["name"]: p["in"] for p in post["parameters"]} == {"thing_id": "path", "idempotency-key": "header"}
    assert doc["paths"]["/things/counts"]["get"]["tags"] == ["things"]
    assert set(doc["components"]["schemas"]) == {"Body"}
    assert doc["components"]["schemas"]["Body"]["required"] == ["name"]


@pytest.mark.parametrize("module", ["intake_api", "case_api", "matching_api"])
def test_every_route_of_the_functions_is_documented_with_resolvable_references(module: str) -> None:
    import importlib

    resolver = importlib.import_module(f"consent_guard.http.{module}").app
    doc = json.loads(resolver.get_openapi_json_schema())
    operations = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert operations == {(r.method, r.path.replace("<", "{").replace(">", "}")) for r in resolver.routes}
    text = json.dumps(doc)
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs and refs <= set(doc["components"]["schemas"])
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert op["summary"] and op["tags"] and "401" in op["responses"], path
            documented = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert documented == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}, path
            if op.get("parameters") or "requestBody" in op:  # validation can refuse it: the 422 is documented
                error = op["responses"]["422"]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/ErrorBody"}, path
