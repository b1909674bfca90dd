"""A fake EU DSA Transparency Database: the API v1 endpoints the submitter uses, with the same validation (our
pydantic model of the official rules) and the same answers: 201, 422 with `errors` (keyed `statement_<index>` on
the batch endpoint), 422 for a puid already used, 302/404 on the existing-puid lookup, 401 for a wrong token and
429 when a configurable request rate is exceeded.

It runs as its own small HTTP server on 127.0.0.1 inside the local stack (GET /local/tdb lists what it accepted),
and its `transport` plugs into TdbClient directly, so handler tests use it without sockets. Faults (429, 5xx,
timeouts) can be queued for the next requests.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from consent_guard.models.tdb import BATCH_MAX, Statement

Answer = tuple[int, bytes, dict[str, str]]

NOT_UNIQUE_ONE = "The identifier given is not unique within this platform."
NOT_UNIQUE_MANY = "The platform identifier(s) are not all unique within this call."
_FIELDS = tuple(Statement.model_fields)


def _json(status: int, payload: Any, **headers: str) -> Answer:
    return status, json.dumps(payload).encode(), {"content-type": "application/json", **headers}


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """Laravel's shape: field -> messages. A rule that ties fields together is filed under the field it names."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_input=False, include_url=False):
        location = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        if location:
            name = location[0]
        else:
            name = next((f for f in sorted(_FIELDS, key=len, reverse=True) if f in message), "statement")
        errors.setdefault(name, []).append(message)
    return errors


class FakeTransparencyDatabase:
    def __init__(self, token: str, max_requests_per_second: float = 200.0, base_url: str = "") -> None:
        self.token = token
        self.max_rps = max_requests_per_second
        self.base_url = base_url
        self.lock = threading.Lock()
        self.statements: dict[str, dict[str, Any]] = {}  # puid -> stored statement (with uuid, permalink)
        self.by_uuid: dict[str, str] = {}
        self.faults: deque[int | str] = deque()  # next answers: an HTTP status, or "timeout"
        self.recent: deque[float] = deque()
        self.requests = 0
        self.answers: dict[int, int] = {}
        self.retired: set[str] = set()  # values it no longer accepts (its rules moved on, as on 1 July 2025)
        self.hang_seconds = 15.0  # how long an injected timeout keeps the HTTP server silent

    # ------------------------------------------------------------ control

    def inject(self, *faults: int | str) -> None:
        """The next requests fail this way, in order (e.g. 429, 503, "timeout")."""
        with self.lock:
            self.faults.extend(faults)

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return sorted(self.statements.values(), key=lambda s: (s["created_at"], s["puid"]))

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "accepted": len(self.statements),
                "requests": self.requests,
                "answers": {str(k): v for k, v in sorted(self.answers.items())},
                "max_requests_per_second": self.max_rps,
            }

    # ------------------------------------------------------------ the API

    def transport(self, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float) -> Answer:
        """TdbClient's transport, in process: a queued "timeout" raises TimeoutError as a socket would."""
        parts = urlsplit(url)
        answer = self.handle(method, parts.path, {k.lower(): v for k, v in headers.items()}, body or b"")
        if answer is None:
            raise TimeoutError("timed out")
        return answer

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer | None:
        with self.lock:
            self.requests += 1
            answer = self._handle(method, path, headers, body)
            if answer is not None:
                self.answers[answer[0]] = self.answers.get(answer[0], 0) + 1
            return answer

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer | None:
        if self.faults:
            fault = self.faults.popleft()
            if fault == "timeout":
                return None
            return _json(int(fault), {"message": "Injected fault"}, **({"retry-after": "0"} if fault == 429 else {}))
        if headers.get("authorization") != f"Bearer {self.token}":
            return _json(401, {"message": "Unauthenticated."})
        if self._over_rate():
            return _json(429, {"message": "Limit Reached. Please do not overload the API"}, **{"retry-after": "1"})
        if method == "POST" and path == "/api/v1/statements":
            return self._store_many(body)
        if method == "POST" and path == "/api/v1/statement":
            return self._store_one(body)
        if method == "GET" and path.startswith("/api/v1/statement/existing-puid/"):
            puid = unquote(path.rsplit("/", 1)[1])
            if puid in self.statements:
                return _json(302, {"message": "statement of reason found", "puid": puid})
            return _json(404, {"message": "statement of reason not found", "puid": puid})
        if method == "GET" and path.startswith("/api/v1/statement/"):
            found = self.by_uuid.get(path.rsplit("/", 1)[1])
            return _json(200, self.statements[found]) if found else _json(404, {"message": "Statement not found."})
        return _json(404, {"message": "Not found."})

    def _over_rate(self) -> bool:
        if self.max_rps <= 0:
            return False
        now = time.monotonic()
        while self.recent and self.recent[0] <= now - 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.max_rps:
            return True
        self.recent.append(now)
        return False

    def _store_one(self, body: bytes) -> Answer:
        try:
            statement = Statement.model_validate_json(body)
        except ValidationError as exc:
            return _json(422, {"message": "The given data was invalid.", "errors": field_errors(exc)})
        if retired := self._retired_fields(statement):
            return _json(422, {"message": "The given data was invalid.", "errors": retired})
        if statement.puid in self.statements:
            return _json(
                422,
                {
                    "message": NOT_UNIQUE_ONE,
                    "errors": {"puid": [NOT_UNIQUE_ONE]},
                    "existing": self.statements[statement.puid],
                },
            )
        return _json(201, self._keep([statement])[0])

    def _store_many(self, body: bytes) -> Answer:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return _json(422, {"message": "The statements field is required.", "errors": {"statements": ["required"]}})
        items = payload.get("statements") if isinstance(payload, dict) else None
        if not isinstance(items, list) or not 1 <= len(items) <= BATCH_MAX:
            message = f"The statements field must have between 1 and {BATCH_MAX} items."
            return _json(422, {"message": message, "errors": {"statements": [message]}})
        errors: dict[str, Any] = {}
        valid: list[Statement] = []
        for index, item in enumerate(items):
            try:
                valid.append(Statement.model_validate(item))
            except ValidationError as exc:
                errors[f"statement_{index}"] = field_errors(exc)
                continue
            if retired := self._retired_fields(valid[-1]):
                errors[f"statement_{index}"] = retired
        if errors:
            return _json(422, {"errors": errors})  # none are created if any fails
        puids = [s.puid for s in valid]
        repeated = sorted({p for p in puids if puids.count(p) > 1} | {p for p in puids if p in self.statements})
        if repeated:
            return _json(
                422, {"message": NOT_UNIQUE_MANY, "errors": {"puid": [NOT_UNIQUE_MANY], "existing_puids": repeated}}
            )
        return _json(201, {"statements": self._keep(valid)})

    def _retired_fields(self, statement: Statement) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, value in statement.payload().items():
            values = value if isinstance(value, list) else [value]
            if any(str(v) in self.retired for v in values):
                found[name] = [f"The selected {name.replace('_', ' ')} is invalid."]
        return found

    def _keep(self, statements: Iterable[Statement]) -> list[dict[str, Any]]:
        out = []
        for statement in statements:
            key = str(uuid.uuid4())
            stored = {
                **statement.payload(),
                "uuid": key,
                "created_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "permalink": f"{self.base_url}/statement/{key}",
                "self": f"{self.base_url}/api/v1/statement/{key}",
            }
            self.statements[statement.puid] = stored
            self.by_uuid[key] = statement.puid
            out.append(stored)
        return out


class _Handler(BaseHTTPRequestHandler):
    server_version = "fake-transparency-database"
    database: FakeTransparencyDatabase

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.database.handle(self.command, self.path.split("?", 1)[0], headers, body)
        if answer is None:  # an injected timeout: say nothing until the client gives up
            time.sleep(self.database.hang_seconds)
            self.close_connection = True
            return
        status, payload, extra = answer
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:  # the stack logs requests its own way
        return


class FakeTdbServer:
    """The fake database on its own port of 127.0.0.1."""

    def __init__(self, database: FakeTransparencyDatabase, port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"database": database})
        self.database = database
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-tdb", daemon=True)
        host, bound = self.server.server_address[:2]
        self.url = f"http://{host}:{bound}"
        database.base_url = database.base_url or self.url

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
