"""API Gateway HTTP API in front of the functions: routes from template.yaml, JWT authorizer, payload format 2.0.

Local-only routes (not in the template, no authorizer): /openapi.json, /docs, /console/ and /local/*.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from local import static
from local.jwt_local import TokenRejected, bearer_token, gateway_claims, verify_token
from local.lambdas import ACCOUNT_ID, FunctionNotLoaded, LocalFunction

log = logging.getLogger("local_stack.gateway")

MAX_BODY = 10 * 1024 * 1024  # HTTP API payload limit
API_ID = "local"
STAGE = "$default"
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"})


class LocalOps(Protocol):
    """What the local-only routes need from the stack."""

    def health(self) -> dict[str, Any]: ...
    def enforcement_events(self, detail_type: str | None) -> list[dict[str, Any]]: ...
    def run_schedule(self, function: str | None) -> tuple[int, dict[str, Any]]: ...
    def queue_counts(self) -> dict[str, dict[str, Any]]: ...
    def redrive(self, queue: str) -> tuple[int, dict[str, Any]]: ...
    def openapi(self) -> dict[str, Any]: ...
    def get_clock(self) -> dict[str, Any]: ...
    def move_clock(self, body: bytes) -> tuple[int, dict[str, Any]]: ...
    def tdb_statements(self) -> dict[str, Any]: ...


@dataclass
class Request:
    method: str
    target: str  # path and query as sent
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def raw_query(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name]
        return ",".join(values) if values else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    route_key: str = "-"

    @classmethod
    def json(cls, status: int, payload: Any, route_key: str = "-", **headers: str) -> Response:
        extra = [(k.replace("_", "-"), v) for k, v in headers.items()]
        return cls(
            status,
            json.dumps(payload, default=str).encode(),
            [("content-type", "application/json"), *extra],
            route_key=route_key,
        )


@dataclass
class Route:
    function: str
    method: str
    path: str
    authorizer: str | None
    scopes: list[str]
    pattern: re.Pattern[str] = field(init=False)
    literal_segments: int = field(init=False)

    def __post_init__(self) -> None:
        parts = []
        for segment in self.path.strip("/").split("/"):
            greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
            param = re.fullmatch(r"\{(\w+)\}", segment)
            if greedy:
                parts.append(f"(?P<{greedy.group(1)}>.+)")
            elif param:
                parts.append(f"(?P<{param.group(1)}>[^/]+)")
            else:
                parts.append(re.escape(segment))
        self.pattern = re.compile("^/" + "/".join(parts) + "$")
        self.literal_segments = sum(1 for s in self.path.split("/") if s and not s.startswith("{"))

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method and self.method != "ANY":
            return None
        found = self.pattern.match(path)
        return {k: unquote(v) for k, v in found.groupdict().items()} if found else None


def _request_id() -> str:
    """API Gateway's requestId looks like `JKJaXmPLvHcESHA=`."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


def http_api_event(
    request: Request,
    route: Route,
    path_parameters: dict[str, str],
    authorizer: dict[str, Any] | None,
    request_id: str,
) -> dict[str, Any]:
    """A payload format 2.0 event, as `sam local generate-event apigateway http-api-proxy` shows it."""
    now = time.time()
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key in HOP_BY_HOP:
            continue
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    host = headers.get("host", "localhost")
    headers.setdefault("x-forwarded-for", request.client_ip)
    headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1] if ":" in host else "80")
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{secrets.token_hex(12)}")

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.raw_query:
        params: dict[str, str] = {}
        for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
            params[key] = f"{params[key]},{value}" if key in params else value
        event["queryStringParameters"] = params
    domain = host.split(":", 1)[0]
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    context.update(
        {
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.client_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": STAGE,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        }
    )
    event["requestContext"] = context
    if request.body:
        try:
            event["body"] = request.body.decode("utf-8")
            event["isBase64Encoded"] = False
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


def lambda_response(result: Any, route_key: str) -> Response:
    """Payload 2.0 response mapping; a result without statusCode is the JSON body of a 200."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return Response.json(200, result, route_key=route_key)
    status = int(result["statusCode"])
    body = result.get("body")
    if body is None:
        data = b""
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body).encode()
    headers = [
        (str(k), str(v))
        for k, v in (result.get("headers") or {}).items()
        if str(k).lower() not in ("content-length", "transfer-encoding", "connection")
    ]
    headers += [("set-cookie", str(c)) for c in result.get("cookies") or []]
    return Response(status, data, headers, route_key=route_key)


class Gateway:
    def __init__(
        self,
        routes: list[dict[str, Any]],
        functions: dict[str, LocalFunction],
        ops: LocalOps,
    ) -> None:
        self.routes = sorted(
            (Route(r["function"], r["method"], r["path"], r["authorizer"], list(r["scopes"])) for r in routes),
            key=lambda r: (-r.literal_segments, r.path),
        )
        self.functions = functions
        self.ops = ops
        self.local_routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"^/openapi\.json$"), lambda r: Response.json(200, self.ops.openapi())),
            ("GET", re.compile(r"^/docs/?$"), lambda r: Response(*static.docs_page())),
            ("GET", re.compile(r"^/docs/assets/(?P<name>[A-Za-z0-9._-]+)$"), self._docs_asset),
            ("GET", re.compile(r"^/console$"), lambda r: Response(301, b"", [("location", "/console/")])),
            ("GET", re.compile(r"^/console/(?P<path>.*)$"), self._console),
            ("POST", re.compile(r"^/local/token$"), self._token),
            ("GET", re.compile(r"^/local/health$"), lambda r: Response.json(200, self.ops.health())),
            ("GET", re.compile(r"^/local/events$"), self._events),
            ("POST", re.compile(r"^/local/schedule/run$"), self._schedule),
            ("GET", re.compile(r"^/local/queues$"), lambda r: Response.json(200, self.ops.queue_counts())),
            ("POST", re.compile(r"^/local/queues/(?P<queue>[A-Za-z0-9]+)/redrive$"), self._redrive),
            ("GET", re.compile(r"^/local/clock$"), lambda r: Response.json(200, self.ops.get_clock())),
            ("POST", re.compile(r"^/local/clock$"), lambda r: Response.json(*self.ops.move_clock(r.body))),
            ("GET", re.compile(r"^/local/tdb$"), lambda r: Response.json(200, self.ops.tdb_statements())),
        ]

    # ------------------------------------------------------------------ local-only routes
    def _docs_asset(self, request: Request, name: str) -> Response:
        return Response(*static.docs_asset(name))

    def _console(self, request: Request, path: str) -> Response:
        return Response(*static.console_file(path))

    def _token(self, request: Request) -> Response:
        return Response(*static.local_token(request.body, request.header("content-type")))

    def _events(self, request: Request) -> Response:
        query = dict(parse_qsl(request.raw_query))
        return Response.json(200, self.ops.enforcement_events(query.get("detail-type")))

    def _schedule(self, request: Request) -> Response:
        status, payload = self.ops.run_schedule(dict(parse_qsl(request.raw_query)).get("function"))
        return Response.json(status, payload)

    def _redrive(self, request: Request, queue: str) -> Response:
        status, payload = self.ops.redrive(queue)
        return Response.json(status, payload)

    # ------------------------------------------------------------------ dispatch
    def handle(self, request: Request) -> Response:
        for method, pattern, view in self.local_routes:
            found = pattern.match(request.raw_path)
            if found and request.method == method:
                response = view(request, **found.groupdict())
                response.route_key = f"local {method} {request.raw_path}"
                return response
        for route in self.routes:
            params = route.match(request.method, request.raw_path)
            if params is not None:
                return self._invoke(request, route, params)
        return Response.json(404, {"message": "Not Found"}, route_key=f"{request.method} (no route)")

    def _authorize(self, request: Request, route: Route) -> tuple[Response | None, dict[str, Any] | None]:
        if not route.authorizer:
            return None, None
        token = bearer_token(request.header("authorization"))
        if token is None:
            return Response.json(401, {"message": "Unauthorized"}, route.route_key, www_authenticate="Bearer"), None
        try:
            verified = verify_token(token)
        except TokenRejected as exc:
            log.info("token rejected route=%s reason=%s", route.route_key, exc)
            return Response.json(
                401, {"message": "Unauthorized"}, route.route_key, www_authenticate='Bearer error="invalid_token"'
            ), None
        if route.scopes and not set(route.scopes) & set(verified.scopes):
            log.info("insufficient scope route=%s sub=%s", route.route_key, verified.claims.get("sub"))
            return Response.json(
                403, {"message": "Forbidden"}, route.route_key, www_authenticate='Bearer error="insufficient_scope"'
            ), None
        scopes = verified.scopes if route.scopes else None
        return None, {"jwt": {"claims": gateway_claims(verified.claims), "scopes": scopes}}

    def _invoke(self, request: Request, route: Route, params: dict[str, str]) -> Response:
        denied, authorizer = self._authorize(request, route)
        if denied is not None:
            return denied
        request_id = _request_id()
        function = self.functions.get(route.function)
        if function is None:
            return Response.json(500, {"message": "Internal Server Error"}, route.route_key)
        event = http_api_event(request, route, params, authorizer, request_id)
        try:
            invocation = function.invoke(event)
        except FunctionNotLoaded as exc:
            log.error("function not loaded function=%s reason=%s", route.function, exc)
            return Response.json(500, {"message": "Internal Server Error"}, route.route_key)
        if invocation.error is not None:
            response = Response.json(500, {"message": "Internal Server Error"}, route.route_key)
        else:
            try:
                response = lambda_response(invocation.result, route.route_key)
            except (TypeError, ValueError) as exc:
                log.error("malformed function response function=%s error=%s", route.function, type(exc).__name__)
                response = Response.json(500, {"message": "Internal Server Error"}, route.route_key)
        response.headers.append(("apigw-requestid", request_id))
        return response


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # listen backlog: bursts of concurrent clients are queued, not reset (default 5)
    gateway: Gateway


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "consent-guard-local"
    sys_version = ""
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http " + format, *args)

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is over the payload limit (nothing more is read then)."""
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                length = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        started = time.perf_counter()
        try:
            body = self._read_body()
        except ValueError:
            self._send(Response.json(400, {"message": "Bad Request"}))
            return
        if body is None:
            self.close_connection = True
            response = Response.json(413, {"message": "Request Entity Too Large"}, connection="close")
        else:
            request = Request(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                client_ip=self.client_address[0],
                protocol=self.request_version,
            )
            try:
                response = self.server.gateway.handle(request)
            except Exception as exc:  # a bug in the runner itself: answer like API Gateway, log the type
                log.exception("gateway error error=%s", type(exc).__name__)
                response = Response.json(500, {"message": "Internal Server Error"})
        self._send(response)
        log.log(
            logging.DEBUG if response.route_key.startswith("local ") else logging.INFO,
            "request route=%s status=%d ms=%d",
            response.route_key,
            response.status,
            (time.perf_counter() - started) * 1000,
        )

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


class HttpServer:
    """The listening socket and its serving thread; port 0 picks a free port."""

    def __init__(self, gateway: Gateway, host: str, port: int) -> None:
        self._host = host
        self._server = _Server((host, port), _Handler)
        self._server.gateway = gateway
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="http", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
