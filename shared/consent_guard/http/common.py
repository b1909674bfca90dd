"""What every HTTP function shares: the caller's identity, body limits, and the one mapping of domain
exceptions to HTTP responses. Error bodies never echo the request."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from consent_guard.auth import Principal, principal_from_event
from consent_guard.cursors import InvalidCursor
from consent_guard.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidRequest,
    NotFound,
    StorageUnavailable,
    TooManyRequests,
)
from consent_guard.http.router import APPLICATION_JSON, RequestValidationError, Response, Router
from consent_guard.models.api.base import ErrorBody
from consent_guard.models.domain import Case
from consent_guard.observability import logger
from consent_guard.repository import IdempotencyMismatch

MAX_BODY_BYTES = 16 * 1024  # reports and context are small; anything larger is refused before parsing
# integers every JSON reader agrees on (RFC 8259 section 6: IEEE 754 doubles); longer literals are refused before
# CPython's int-string limit (4300 digits) can turn them into a 500
MAX_SAFE_INTEGER = 2**53 - 1
_MAX_INT_CHARS = len(str(MAX_SAFE_INTEGER)) + 1


class _BodyRejected(ValueError):
    """A JSON body that readers could disagree on: duplicated keys, out-of-range or non-finite numbers."""

    def __init__(self, loc: list[str | int], kind: str, msg: str) -> None:
        super().__init__(msg)
        self.error = {"loc": loc, "type": kind, "msg": msg}


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            # last-wins would let a proxy that reads the first copy see another request
            raise _BodyRejected(["body", key], "json_duplicate_key", "this key appears more than once")
        seen.add(key)
    return dict(pairs)


def _safe_int(text: str) -> int:
    if len(text) > _MAX_INT_CHARS or abs(value := int(text)) > MAX_SAFE_INTEGER:
        raise _BodyRejected(["body"], "json_number_out_of_range", f"integers are limited to +/-{MAX_SAFE_INTEGER}")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BodyRejected(["body"], "json_number_not_finite", "numbers must be finite")
    return value


def _no_constant(name: str) -> Any:
    raise _BodyRejected(["body"], "json_number_not_finite", "NaN and Infinity are not JSON")


def strict_json_error(text: str) -> dict[str, Any] | None:
    """The field error of a body with duplicated keys or numbers outside what every JSON reader agrees on; None
    for any other body (a syntax error is left to the validation that follows)."""
    try:
        json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_int=_safe_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except _BodyRejected as rejected:
        return rejected.error
    except (ValueError, RecursionError):
        return None
    return None


def _unprocessable(error: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": HTTPStatus.UNPROCESSABLE_ENTITY.value,
        "headers": {"Content-Type": APPLICATION_JSON},
        "body": json.dumps({"code": "validation_error", "message": "the request is not valid", "errors": [error]}),
        "isBase64Encoded": False,
    }


def _error(
    status: HTTPStatus, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    body = {"code": code, "message": message, **extra}
    return Response(status.value, APPLICATION_JSON, json.dumps(body, default=str), headers)


def current_principal(app: Router) -> Principal:
    return principal_from_event(app.current_event.raw_event)


def _utf8_base64(body: str) -> bool:
    try:
        base64.b64decode(body, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return True


class ConsentGuardResolver(Router):
    """The HTTP API router with a body limit and the strict JSON checks applied before anything parses the body."""

    def resolve(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        body = event.get("body") or ""
        if event.get("isBase64Encoded") and body and not _utf8_base64(body):
            # not text: answer like any other invalid body
            return _unprocessable({"loc": ["body"], "type": "json_invalid", "msg": "the body is not UTF-8 JSON"})
        size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
        if size > MAX_BODY_BYTES:
            return {
                "statusCode": HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value,
                "headers": {"Content-Type": APPLICATION_JSON},
                "body": json.dumps(
                    {"code": "payload_too_large", "message": f"request bodies are limited to {MAX_BODY_BYTES} bytes"}
                ),
                "isBase64Encoded": False,
            }
        if body:
            text = base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body
            if (error := strict_json_error(text)) is not None:
                return _unprocessable(error)
        return super().resolve(event, context)


def _safe_errors(errors: list[Any]) -> list[dict[str, Any]]:
    # loc, type and pydantic's message; the rejected input itself is never returned
    return [
        {
            "loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
            "type": e.get("type", ""),
            "msg": str(e.get("msg", "")).removeprefix("Value error, "),
        }
        for e in errors
    ]


def register_error_handlers(app: Router) -> None:
    """Domain exceptions to HTTP, in one place."""

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response:
        return _error(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "validation_error",
            "the request is not valid",
            errors=_safe_errors(list(exc.errors())),
        )

    @app.exception_handler(InvalidRequest)
    def _invalid(exc: InvalidRequest) -> Response:
        return _error(HTTPStatus.UNPROCESSABLE_ENTITY, exc.code, exc.message)

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        return _error(HTTPStatus.NOT_FOUND, exc.code, exc.message)

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response:
        return _error(HTTPStatus.FORBIDDEN, exc.code, exc.message)

    @app.exception_handler(IdempotencyMismatch)
    def _idempotency(exc: IdempotencyMismatch) -> Response:
        return _error(HTTPStatus.CONFLICT, exc.code, exc.message)

    @app.exception_handler(InvalidCursor)
    def _cursor(exc: InvalidCursor) -> Response:
        return _error(HTTPStatus.BAD_REQUEST, exc.code, exc.message)

    @app.exception_handler(Conflict)
    def _conflict(exc: Conflict) -> Response:
        return _error(HTTPStatus.CONFLICT, exc.code, exc.message, **_jsonable(exc.details))

    @app.exception_handler(TooManyRequests)
    def _too_many(exc: TooManyRequests) -> Response:
        return _error(
            HTTPStatus.TOO_MANY_REQUESTS, exc.code, exc.message, headers={"Retry-After": str(exc.retry_after_seconds)}
        )

    @app.exception_handler(StorageUnavailable)
    def _unavailable(exc: StorageUnavailable) -> Response:
        logger.warning("dependency unavailable after retries", error_code=exc.details.get("error_code"))
        return _error(HTTPStatus.SERVICE_UNAVAILABLE, exc.code, exc.message, headers={"Retry-After": "1"})

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response:
        logger.warning("unmapped domain error", error_code=exc.code)
        return _error(HTTPStatus.CONFLICT, exc.code, exc.message)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in details.items():
        out[key] = _public_case(value) if isinstance(value, Case) else value
    return out


def _public_case(case: Case) -> dict[str, Any]:
    """What a 409 may say about the case that won: its state and decision, nothing about who reported."""
    decision = case.decision
    return {
        "case_id": case.case_id,
        "state": case.state.value,
        "version": case.version,
        "decision": {
            "outcome": decision.outcome.value,
            "enforcement": decision.enforcement.value,
            "rule_ids": list(decision.rule_ids),
            "policy_version": decision.policy_version,
            "automated": decision.automated,
        }
        if decision
        else None,
    }


def new_resolver() -> ConsentGuardResolver:
    app = ConsentGuardResolver()
    register_error_handlers(app)
    # a path parameter that fails its pattern is a 422 on any route (the document must say so)
    app.validation_response = error_responses(422)[422]
    return app


def json_response(status: HTTPStatus, model: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status.value,
        content_type=APPLICATION_JSON,
        body=model.model_dump_json(),
        headers=headers,
    )


# What API Gateway's JWT authorizer answers itself (401, and 403 for a missing route scope): {"message": ...}
GATEWAY_ERROR: dict[str, Any] = {
    "type": "object",
    "title": "GatewayError",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}


def error_responses(*codes: int) -> dict[int, dict[str, Any]]:
    """OpenAPI documentation of the error responses a route can give. Every route is behind the JWT authorizer, so
    401 (from the gateway) is always documented; 403 may come from the gateway (route scope) or from the code."""
    text = {
        400: "Bad request",
        401: "Missing, invalid or expired token (API Gateway)",
        403: "Not allowed for this caller",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        422: "Validation error (field errors)",
        429: "Too many requests",
        503: "Temporarily unavailable; retry",
    }
    out: dict[int, dict[str, Any]] = {
        c: {"description": text[c], "content": {"application/json": {"model": ErrorBody}}} for c in codes
    }
    out[401] = {"description": text[401], "content": {"application/json": {"schema": GATEWAY_ERROR}}}
    if 403 in out:
        either = {"anyOf": [{"$ref": "#/components/schemas/ErrorBody"}, GATEWAY_ERROR]}
        out[403] = {"description": text[403], "content": {"application/json": {"schema": either}}}
    return dict(sorted(out.items()))
