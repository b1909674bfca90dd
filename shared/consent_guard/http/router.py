"""The HTTP functions' router: API Gateway HTTP API (payload 2.0) events to route functions, with the request
validated through pydantic from the route function's signature, and the one exception->response mapping.

What it replaces is powertools' `APIGatewayHttpResolver(enable_validation=True)`, whose package imports asyncio,
every event data class and the OpenAPI machinery on a cold start (docs/benchmarks.md, issue 18). The behaviour the
API documents is kept: routes `"/reports/<report_id>"` (static routes before dynamic ones), parameters declared as
`Annotated[T, Path(...)]`, `Query(...)`, `Header(...)`, a pydantic model parameter for the JSON body, and every
invalid part of a request reported together as field errors with `loc` = (`path`|`query`|`header`|`body`, ...), the
same `loc`/`type`/`msg` pydantic gives. A route is analysed (type hints, one validator per parameter) on its first
request, so a cold start pays for the route it serves and no other. The OpenAPI document is generated from the
same route table (`consent_guard.http.openapi`, imported only when asked for: locally and in tests).
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from typing import Any, TypeVar

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

APPLICATION_JSON = "application/json"

# the characters powertools (and so the routes' documentation) accepts in a path parameter: RFC 3986 unreserved and
# sub-delims, ":" and "@", and what API Gateway passes through percent-encoded or raw
_SAFE_URI = "-._~()'!*:@,;=+&$"
_UNSAFE_URI = r"%<> \[\]{}|^"
_PARAM = re.compile(r"<(\w+)>")


class RequestValidationError(Exception):
    """Field errors of a request (pydantic's error dicts, `loc` starting with where the value was)."""

    def __init__(self, errors: typing.Sequence[Any]) -> None:
        super().__init__("request validation failed")
        self._errors = list(errors)

    def errors(self) -> list[Any]:
        return self._errors


class Response:
    """A route's answer: status, body (text), Content-Type and other headers."""

    def __init__(
        self,
        status_code: int,
        content_type: str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = int(status_code)
        self.body = body
        self.headers: dict[str, str] = dict(headers) if headers else {}
        if content_type:
            self.headers.setdefault("Content-Type", content_type)

    def to_event(self) -> dict[str, Any]:
        """The HTTP API (payload 2.0) response."""
        return {
            "statusCode": self.status_code,
            "body": self.body,
            "isBase64Encoded": False,
            "headers": self.headers,
            "cookies": [],
        }


@dataclass(frozen=True)
class Param:
    """Where a route parameter comes from (`in_`), its name there (alias), documentation and constraints."""

    in_: str
    alias: str | None = None
    description: str | None = None
    constraints: Mapping[str, Any] = field(default_factory=dict)


def Path(*, pattern: str | None = None, description: str | None = None) -> Any:
    return Param("path", None, description, {"pattern": pattern} if pattern else {})


def Query(
    *,
    alias: str | None = None,
    description: str | None = None,
    ge: int | None = None,
    le: int | None = None,
    max_length: int | None = None,
) -> Any:
    limits = {"ge": ge, "le": le, "max_length": max_length}
    return Param("query", alias, description, {k: v for k, v in limits.items() if v is not None})


def Header(*, alias: str, description: str | None = None, max_length: int | None = None) -> Any:
    return Param("header", alias.lower(), description, {"max_length": max_length} if max_length else {})


class Request:
    """The event being answered, as a route function may read it."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.raw_event = event

    @cached_property
    def headers(self) -> dict[str, str]:
        """Header names lower-case (HTTP API already sends them so; local callers may not)."""
        return {str(k).lower(): str(v) for k, v in (self.raw_event.get("headers") or {}).items()}

    @cached_property
    def query(self) -> dict[str, str]:
        return dict(self.raw_event.get("queryStringParameters") or {})

    @property
    def method(self) -> str:
        context = self.raw_event.get("requestContext") or {}
        return str((context.get("http") or {}).get("method") or self.raw_event.get("httpMethod") or "").upper()

    @property
    def path(self) -> str:
        path = str(self.raw_event.get("rawPath") or self.raw_event.get("path") or "/")
        stage = (self.raw_event.get("requestContext") or {}).get("stage")
        if stage and stage != "$default" and path.startswith(f"/{stage}"):
            path = path[len(stage) + 1 :] or "/"
        return path

    def body_text(self) -> str | None:
        body = self.raw_event.get("body")
        if not body:
            return None
        if self.raw_event.get("isBase64Encoded"):
            return base64.b64decode(body).decode("utf-8")
        return str(body)


@dataclass(frozen=True)
class ParamSpec:
    name: str  # the route function's argument
    location: str  # path, query, header
    key: str  # its name in the request (alias)
    annotation: Any  # the type with its constraints, Annotated[T, Field(...)]
    required: bool
    default: Any
    description: str | None

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.annotation)


@dataclass(frozen=True)
class BodySpec:
    name: str
    model: type[BaseModel]


@dataclass(frozen=True)
class Signature:
    params: tuple[ParamSpec, ...]
    body: BodySpec | None


F = TypeVar("F", bound=Callable[..., Response])
Handler = Callable[[Any], Response]


@dataclass
class Route:
    method: str
    path: str  # "/reports/<report_id>"
    func: Callable[..., Response]
    summary: str | None
    responses: Mapping[int, Any]
    tags: tuple[str, ...]
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.regex = re.compile("^" + _PARAM.sub(rf"(?P<\1>[{_SAFE_URI}{_UNSAFE_URI}\\w]+)", self.path) + "$")

    @property
    def dynamic(self) -> bool:
        return bool(_PARAM.search(self.path))

    @cached_property
    def signature(self) -> Signature:
        """The route function's parameters, from its (string) annotations, resolved once on first use."""
        hints = typing.get_type_hints(self.func, include_extras=True)
        params: list[ParamSpec] = []
        body: BodySpec | None = None
        path_names = set(_PARAM.findall(self.path))
        for name, parameter in inspect.signature(self.func).parameters.items():
            hint = hints[name]
            base, marker = _split(hint)
            if marker is None and isinstance(base, type) and issubclass(base, BaseModel):
                body = BodySpec(name, base)
                continue
            if marker is None:
                raise TypeError(f"{self.func.__name__}({name}): declare it with Path(), Query() or Header()")
            required = parameter.default is inspect.Parameter.empty
            default = None if required else parameter.default
            if marker.in_ == "path" and name not in path_names:
                raise TypeError(f"{self.func.__name__}({name}): not a parameter of {self.path}")
            key = marker.alias or name
            title = key.replace("_", " ").title()
            info = Field(title=title, description=marker.description, **marker.constraints)
            if not required:
                info = Field(default, title=title, description=marker.description, **marker.constraints)
            params.append(
                ParamSpec(name, marker.in_, key, typing.Annotated[base, info], required, default, marker.description)
            )
        return Signature(tuple(params), body)


def _split(hint: Any) -> tuple[Any, Param | None]:
    if typing.get_origin(hint) is typing.Annotated:
        base, *extras = typing.get_args(hint)
        markers = [e for e in extras if isinstance(e, Param)]
        rest = [e for e in extras if not isinstance(e, Param)]
        if markers:
            return (typing.Annotated[(base, *rest)] if rest else base), markers[0]
    return hint, None


def _missing(loc: tuple[str | int, ...]) -> dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


def _prefixed(error: ValidationError, loc: tuple[str | int, ...]) -> list[dict[str, Any]]:
    return [{**e, "loc": (*loc, *e["loc"])} for e in error.errors(include_url=False, include_input=False)]


class Router:
    """Routes of one HTTP function, their exception handlers, and the request being answered (`current_event`)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._exception_handlers: dict[type[BaseException], Handler] = {}
        self._current: Request | None = None
        # documented for every route that validates a parameter or a body and does not document a 422 itself
        self.validation_response: Mapping[str, Any] | None = None

    # ------------------------------------------------------------------ declaring

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str | None = None,
        responses: Mapping[int, Any] | None = None,
        tags: typing.Sequence[str] = (),
    ) -> Callable[[F], F]:
        def register(func: F) -> F:
            self.routes.append(Route(method.upper(), path, func, summary, responses or {}, tuple(tags)))
            # static routes first, then dynamic ones, each in declaration order (as powertools matches them)
            self.routes.sort(key=lambda r: r.dynamic)
            return func

        return register

    def get(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route("PUT", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[F], F]:
        return self.route("DELETE", path, **options)

    def exception_handler(self, exc_type: type[BaseException]) -> Callable[[Callable[[Any], Response]], Handler]:
        def register(func: Callable[[Any], Response]) -> Handler:
            self._exception_handlers[exc_type] = func
            return func

        return register

    # ------------------------------------------------------------------ answering

    @property
    def current_event(self) -> Request:
        if self._current is None:
            raise RuntimeError("no request is being answered")
        return self._current

    def resolve(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        del context
        request = Request(event)
        self._current = request
        try:
            return self._answer(request).to_event()
        finally:
            self._current = None

    def _answer(self, request: Request) -> Response:
        method, path = request.method, request.path
        for route in self.routes:
            if route.method != method:
                continue
            match = route.regex.match(path)
            if match is None:
                continue
            try:
                return route.func(**self._arguments(route, request, match.groupdict()))
            except Exception as exc:
                handler = self._handler_for(type(exc))
                if handler is None:
                    raise
                return handler(exc)
        body = json.dumps({"statusCode": HTTPStatus.NOT_FOUND.value, "message": "Not found"})
        return Response(HTTPStatus.NOT_FOUND, APPLICATION_JSON, body)

    def _handler_for(self, exc_type: type[BaseException]) -> Handler | None:
        for cls in exc_type.__mro__:
            if cls in self._exception_handlers:
                return self._exception_handlers[cls]
        return None

    @staticmethod
    def _arguments(route: Route, request: Request, path_values: dict[str, str]) -> dict[str, Any]:
        """The route function's arguments, validated; every invalid part of the request in one error."""
        signature = route.signature
        sources = {"path": path_values, "query": request.query, "header": request.headers}
        values: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for param in signature.params:
            raw = sources[param.location].get(param.key)
            if raw is None:
                if param.required:
                    errors.append(_missing((param.location, param.key)))
                else:
                    values[param.name] = param.default
                continue
            try:
                values[param.name] = param.adapter.validate_python(raw)
            except ValidationError as invalid:
                errors.extend(_prefixed(invalid, (param.location, param.key)))
        if signature.body is not None:
            try:
                parsed = _json_body(request)
            except json.JSONDecodeError as invalid:
                errors.append({"type": "json_invalid", "loc": ("body", invalid.pos), "msg": "JSON decode error"})
            else:
                if parsed is None:
                    errors.append(_missing(("body",)))
                else:
                    try:
                        values[signature.body.name] = signature.body.model.model_validate(parsed)
                    except ValidationError as invalid:
                        errors.extend(_prefixed(invalid, ("body",)))
        if errors:
            raise RequestValidationError(errors)
        return values

    # ------------------------------------------------------------------ documenting

    def get_openapi_schema(self, title: str = "consent-guard", version: str = "0.1.0") -> dict[str, Any]:
        from consent_guard.http.openapi import openapi_document

        return openapi_document(self.routes, title=title, version=version, validation=self.validation_response)

    def get_openapi_json_schema(self, title: str = "consent-guard", version: str = "0.1.0") -> str:
        return json.dumps(self.get_openapi_schema(title=title, version=version), indent=2, sort_keys=False)


def _json_body(request: Request) -> Any:
    text = request.body_text()
    return json.loads(text) if text else None
