"""The whole system in one process: moto for AWS, the template's functions, and the event sources that drive them."""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from local import moto_adapt
from local.clock import InvalidDuration, LocalClock, parse_duration
from local.gateway import Gateway, HttpServer
from local.lambdas import (
    FunctionNotLoaded,
    LocalFunction,
    async_retry_attempts,
    function_specs,
    on_failure_destination,
    schedule_events,
)
from local.openapi import merged_openapi
from local.persistence import JournalingApp, RestoreSummary, StateStore, install_sqs_hooks
from local.pollers import EventTap, ScheduledInvoker, Scheduler, SqsPoller, redrive, wait_for_threads
from local.tdb import FakeTdbServer, FakeTransparencyDatabase
from local.template import (
    ROOT,
    LocalResources,
    create_resources,
    http_routes,
    load_template,
    resources,
    sqs_event_sources,
)

log = logging.getLogger("local_stack")
MAX_SCHEDULE_RUNS = 5
STOP_BUDGET_S = 1.2


def _acted(result: Any) -> bool:
    """Whether a scheduled re-review run did anything (then another run may find what that made due)."""
    if not isinstance(result, dict):
        return False
    acted = result.get("acted")
    return bool(result.get("stopped_early")) or (isinstance(acted, dict) and sum(acted.values()) > 0)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _OneRequestAtATime:
    """WSGI middleware: moto answers one request at a time, so each call is atomic as in the real services.

    moto is not written for concurrent access (a conditional write racing another can both succeed); the functions,
    pollers and HTTP requests here do run concurrently. SQS long polls are let through unlocked: they wait for up to
    a second inside moto, which has its own lock around a queue's messages.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") == "AmazonSQS.ReceiveMessage":
            return self.app(environ, start_response)
        with self.lock:
            try:
                return list(self.app(environ, start_response))
            finally:
                moto_adapt.trim()  # between requests: pack what this one materialised beyond the hot set


class LocalMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer with the one-request-at-a-time and journaling middlewares in front of moto's WSGI app."""

    def __init__(self, store: StateStore | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        moto_app: WSGIApp = DomainDispatcherApplication(create_backend_app)
        self.app = _OneRequestAtATime(JournalingApp(moto_app, store) if store is not None else moto_app)

    def _server_entry(self) -> None:
        self._server = make_server(self._ip_address, self._port, self.app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.1)  # a quick stop


@dataclass
class StackConfig:
    host: str = "127.0.0.1"
    port: int = 3000
    moto_port: int = 0
    schedule_seconds: float = 60.0
    visibility_timeout: int = 5
    region: str = "eu-west-1"
    code_root: Path = ROOT
    ready_file: Path | None = None
    serial: bool = True  # one invocation at a time across all functions (see docs/local-stack.md)
    state_dir: Path | None = None  # None: in memory only (nothing survives a restart)
    fsync: bool = False
    tdb_rate: float = 200.0  # the fake Transparency Database answers 429 above this many requests per second


def configure_environment(moto_url: str, region: str, resources_env: dict[str, str] | None = None) -> None:
    """Point every boto3 client in this process at moto, with fake credentials; never at a real account."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL_") or name in (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
        ):
            del os.environ[name]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_SECURITY_TOKEN="testing",
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_ENDPOINT_URL=moto_url,
    )
    if resources_env:
        os.environ.update(resources_env)


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.stop_event = threading.Event()
        self.store = StateStore(config.state_dir, fsync=config.fsync) if config.state_dir is not None else None
        self.moto = LocalMotoServer(self.store, ip_address="127.0.0.1", port=config.moto_port, verbose=False)
        self.clock = LocalClock(self.store)
        self.restored: RestoreSummary | None = None
        self.moto_url = ""
        self.resources = LocalResources()
        self.functions: dict[str, LocalFunction] = {}
        self.threads: list[threading.Thread] = []
        self.pollers: list[SqsPoller] = []
        self.invokers: list[ScheduledInvoker] = []
        self.tap: EventTap | None = None
        self.http: HttpServer | None = None
        self.notes: list[str] = []  # how this run differs from the deployed stack
        self._sqs: Any = None
        self._openapi: dict[str, Any] | None = None
        self._openapi_lock = threading.Lock()
        self.tdb: FakeTdbServer | None = None

    @property
    def base_url(self) -> str:
        assert self.http is not None, "start() first"
        return self.http.base_url

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_adapt.apply()  # transactions cost O(items touched), not O(table): see local/moto_adapt.py
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        configure_environment(self.moto_url, self.config.region)
        session = boto3.session.Session(region_name=self.config.region)
        self.resources = create_resources(session)
        moto_adapt.bound_bookkeeping(self.config.region)
        if self.store is not None:
            install_sqs_hooks(self.store)
            self.restored = self.store.restore(self.moto.app, self.config.region)
            self.clock.offset_s = self.restored.clock_offset_s
            log.info(
                "state restored dir=%s generation=%d snapshot_items=%d snapshot_messages=%d journal_entries=%d "
                "compacted=%s seconds=%.2f errors=%d",
                self.config.state_dir,
                self.restored.generation,
                self.restored.snapshot_items,
                self.restored.snapshot_messages,
                self.restored.journal_entries,
                self.restored.compacted,
                self.restored.seconds,
                len(self.restored.errors),
            )
            for error in self.restored.errors[:20]:
                log.warning("replay error=%s", error)
        self.clock.install()
        configure_environment(self.moto_url, self.config.region, self.resources.environment())
        self._sqs = session.client("sqs")
        self._start_fake_tdb(session)
        self._shorten_visibility_timeouts()
        self._warm_default_session()

        shared_lock = threading.Lock() if self.config.serial else None
        self.notes.append(
            "invocations: one at a time in the whole process (AWS: separate instances; --concurrent: one per function)"
            if self.config.serial
            else "invocations: one at a time per function, functions concurrently (they share the layer's modules here)"
        )
        for logical_id, spec in function_specs().items():
            function = LocalFunction(spec, self.config.code_root, self.config.region)
            if shared_lock is not None:
                function.lock = shared_lock
            function.load()
            self.functions[logical_id] = function

        bus = self.resources.buses["EnforcementBus"]
        self.tap = EventTap(bus, session.client("sqs"), session.client("events"), self.stop_event)
        self.threads.append(self.tap)
        self._start_pollers(session)
        self._start_schedule()

        self.http = HttpServer(Gateway(http_routes(), self.functions, self), self.config.host, self.config.port)
        for thread in self.threads:
            thread.start()
        self.http.start()
        if self.config.ready_file is not None:
            tmp = self.config.ready_file.with_name(self.config.ready_file.name + ".tmp")
            tmp.write_text(self.base_url + "\n")
            tmp.replace(self.config.ready_file)

    def stop(self) -> None:
        """Stop taking requests, let pollers finish the invocation they are in (or hand their messages back), then
        stop moto and close the journal; within STOP_BUDGET_S. An invocation still running after that is abandoned
        like a crashed Lambda: its messages, never deleted, are delivered again."""
        self.stop_event.set()
        if self.http is not None:
            self.http.stop()
        if self.tdb is not None:
            self.tdb.stop()
        wait_for_threads(self.threads, timeout=STOP_BUDGET_S)
        busy = [t.name for t in self.threads if t.is_alive()]
        if busy:
            log.warning("stopping with work in flight threads=%s (its messages will be delivered again)", busy)
        self.moto.stop()
        self.clock.uninstall()
        if self.store is not None:
            self.store.close()

    def _start_fake_tdb(self, session: boto3.session.Session) -> None:
        """The fake Transparency Database, and the submitter pointed at it in sandbox mode with its token in SSM."""
        token = secrets.token_urlsafe(24)
        self.tdb = FakeTdbServer(FakeTransparencyDatabase(token, self.config.tdb_rate))
        self.tdb.start()
        parameter = str(load_template()["Parameters"]["TdbTokenParameter"]["Default"])
        session.client("ssm").put_parameter(Name=parameter, Value=token, Type="SecureString", Overwrite=True)
        os.environ.update(TDB_MODE="sandbox", TDB_BASE_URL=self.tdb.url, TDB_TOKEN_PARAMETER=parameter)
        self.notes.append(
            f"Transparency Database: a fake at {self.tdb.url} (sandbox mode, token in SSM {parameter}, "
            f"429 above {self.config.tdb_rate:g} requests/s); GET /local/tdb lists what it accepted"
        )

    def tdb_statements(self) -> dict[str, Any]:
        if self.tdb is None:
            return {"accepted": 0, "statements": []}
        return {**self.tdb.database.summary(), "statements": self.tdb.database.accepted()}

    def _shorten_visibility_timeouts(self) -> None:
        queues = resources("AWS::SQS::Queue")
        for logical_id in function_specs():
            for source in sqs_event_sources(logical_id):
                queue = source["queue"]
                declared = queues[queue]["Properties"].get("VisibilityTimeout", 30)
                self._sqs.set_queue_attributes(
                    QueueUrl=self.resources.queues[queue],
                    Attributes={"VisibilityTimeout": str(self.config.visibility_timeout)},
                )
                self.notes.append(
                    f"{queue}: VisibilityTimeout {self.config.visibility_timeout} s locally (template: {declared} s), "
                    "so retries and the move to the DLQ are observable"
                )

    def _warm_default_session(self) -> None:
        """Create boto3's default session and its loaders here, once: building clients concurrently from a
        fresh session in several threads (the functions' lazy clients) is not thread-safe."""
        boto3.setup_default_session(region_name=self.config.region)
        for service in ("dynamodb", "sqs", "events", "sesv2", "ssm"):
            boto3.client(service)

    def _start_pollers(self, session: boto3.session.Session) -> None:
        for logical_id, function in self.functions.items():
            for source in sqs_event_sources(logical_id):
                queue = source["queue"]
                if function.module is None:
                    self.notes.append(f"{queue}: not polled, {logical_id} is not loaded ({function.load_error})")
                    continue
                poller = SqsPoller(
                    function,
                    queue,
                    self.resources.queues[queue],
                    self.resources.queue_arns[queue],
                    int(source["batch_size"]),
                    bool(source["report_batch_item_failures"]),
                    session.client("sqs"),
                    self.stop_event,
                )
                self.pollers.append(poller)
                self.threads.append(poller)

    def _start_schedule(self) -> None:
        for logical_id, function in self.functions.items():
            for event in schedule_events(function.spec):
                failure_queue = on_failure_destination(function.spec)
                self.invokers.append(
                    ScheduledInvoker(
                        function,
                        event["event"],
                        event["schedule"],
                        self._sqs,
                        failure_queue,
                        self.resources.queues.get(failure_queue) if failure_queue else None,
                        async_retry_attempts(function.spec),
                    )
                )
                when = (
                    f"every {self.config.schedule_seconds:g} s locally"
                    if self.config.schedule_seconds > 0
                    else "only on demand (POST /local/schedule/run)"
                )
                self.notes.append(f"{logical_id} {event['event']}: {when} (template: {event['schedule']})")
        if self.invokers and self.config.schedule_seconds > 0:
            self.threads.append(Scheduler(self.invokers, self.config.schedule_seconds, self.stop_event))

    # ------------------------------------------------------------------ local-only routes (gateway.LocalOps)
    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "moto": self.moto_url,
            "functions": {k: "ready" if f.module is not None else f.load_error for k, f in self.functions.items()},
            "polling": sorted(p.queue for p in self.pollers),
            "schedule_seconds": self.config.schedule_seconds,
            "events_seen": len(self.tap.snapshot()) if self.tap else 0,
        }

    def enforcement_events(self, detail_type: str | None) -> list[dict[str, Any]]:
        return self.tap.snapshot(detail_type) if self.tap else []

    def run_schedule(self, function: str | None) -> tuple[int, dict[str, Any]]:
        invokers = [i for i in self.invokers if function in (None, i.function.spec.logical_id)]
        if not invokers:
            return 404, {"message": f"no scheduled function {function or ''}".strip()}
        invoker = invokers[0]
        name = invoker.function.spec.logical_id
        try:
            invocation = invoker.invoke_now()
        except FunctionNotLoaded as exc:
            return 500, {"function": name, "message": f"function not loaded: {exc}"}
        if invocation.error is not None:
            return 500, {"function": name, "request_id": invocation.request_id, "error": invocation.error_payload()}
        return 200, {"function": name, "request_id": invocation.request_id, "result": invocation.result}

    def get_clock(self) -> dict[str, Any]:
        return self.clock.describe()

    def move_clock(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """`{"advance": "P15D"}`: move the clock forward, then run the schedule until nothing more is due (at most
        MAX_SCHEDULE_RUNS runs), so the timers that fell due act, as the schedule would have over that time."""
        try:
            payload = json.loads(body or b"{}")
            advance = payload.get("advance") if isinstance(payload, dict) else None
            if not isinstance(advance, str) or set(payload) - {"advance", "run_schedule"}:
                raise InvalidDuration('send {"advance": "<ISO 8601 duration>"}, e.g. {"advance": "P15D"}')
            duration = parse_duration(advance)
        except (ValueError, UnicodeDecodeError) as exc:
            return 400, {"message": str(exc) if isinstance(exc, InvalidDuration) else "invalid JSON body"}
        self.clock.advance(duration)
        log.info("clock moved advance=%s offset_s=%.0f", advance, self.clock.offset_s)
        result: dict[str, Any] = {**self.clock.describe(), "advanced_seconds": duration.total_seconds()}
        if payload.get("run_schedule", True) is not False:
            runs = []
            for _ in range(MAX_SCHEDULE_RUNS):
                status, run = self.run_schedule(None)
                if status == 404:
                    break
                runs.append(run)
                if status != 200 or not _acted(run.get("result")):
                    break
            result["schedule_runs"] = runs
        return 200, result

    def _dead_letter_targets(self) -> dict[str, str]:
        """source queue logical id -> its dead-letter queue's logical id"""
        out = {}
        for logical_id, queue in resources("AWS::SQS::Queue").items():
            redrive_policy = queue["Properties"].get("RedrivePolicy")
            if redrive_policy:
                out[logical_id] = str(redrive_policy["deadLetterTargetArn"]["Fn::GetAtt"][0])
        return out

    def queue_counts(self) -> dict[str, dict[str, Any]]:
        targets = self._dead_letter_targets()
        sources = {dlq: source for source, dlq in targets.items()}
        counts: dict[str, dict[str, Any]] = {}
        for logical_id, url in self.resources.queues.items():
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            visible = int(attributes.get("ApproximateNumberOfMessages", 0))
            in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
            delayed = int(attributes.get("ApproximateNumberOfMessagesDelayed", 0))
            counts[logical_id] = {
                "visible": visible,
                "in_flight": in_flight,
                "delayed": delayed,
                "total": visible + in_flight + delayed,
                "dead_letter_queue": targets.get(logical_id),
                "source_queue": sources.get(logical_id),
            }
        return counts

    def redrive(self, queue: str) -> tuple[int, dict[str, Any]]:
        if queue not in self.resources.queues:
            return 404, {"message": f"unknown queue {queue}", "queues": sorted(self.resources.queues)}
        sources = [source for source, dlq in self._dead_letter_targets().items() if dlq == queue]
        if not sources:
            return 400, {"message": f"{queue} is not the dead-letter queue of any queue"}
        moved = redrive(self._sqs, self.resources.queues[queue], self.resources.queues[sources[0]])
        log.info("redrive queue=%s source_queue=%s moved=%d", queue, sources[0], moved)
        return 200, {"queue": queue, "source_queue": sources[0], "moved": moved}

    def openapi(self) -> dict[str, Any]:
        with self._openapi_lock:
            if self._openapi is None:
                self._openapi = merged_openapi(self.functions.values(), http_routes())
            return self._openapi

    # ------------------------------------------------------------------ startup summary
    def banner(self) -> str:
        url = self.base_url
        port_arg = "" if self.config.port == 3000 else f" PORT={url.rsplit(':', 1)[1]}"
        if self.store is not None and self.restored is not None:
            r = self.restored
            state = (
                f"{self.config.state_dir}  (kept across restarts; `make run RESET=1` starts clean; restored "
                f"{r.snapshot_items:,} snapshot items + {r.journal_entries:,} journal entries in {r.seconds:.1f} s)"
            )
        else:
            state = "in memory only (--in-memory): nothing survives a restart"
        lines = [
            f"consent-guard local stack on {url}   (AWS: moto at {self.moto_url}, region {self.config.region})",
            "",
            f"  API          {url}                (every route needs a token)",
            f"  OpenAPI      {url}/openapi.json",
            f"  Swagger UI   {url}/docs",
            f"  console      {url}/console/        (the moderator console; development sign-in)",
            "  token        make token SUB=alice [GROUPS=moderators] [SCOPE=consent-guard/platform]",
            f"  state        {state}",
            f'  clock        {url}/local/clock   (POST {{"advance": "P15D"}} moves time and runs the schedule)',
            f"  demo         make demo{port_arg}",
            "",
            "resources:",
            *(f"  table  {k:<18} {v}" for k, v in self.resources.tables.items()),
            *(f"  queue  {k:<18} {v.rsplit('/', 1)[1]}" for k, v in self.resources.queues.items()),
            *(f"  bus    {k:<18} {v}" for k, v in self.resources.buses.items()),
            f"  email  {'SenderEmail':<18} {self.resources.sender_email} (verified identity)",
            "functions:",
            *(
                f"  {k:<26} {'ready' if f.module is not None else 'NOT LOADED: ' + str(f.load_error)}"
                for k, f in self.functions.items()
            ),
            "differs from AWS:",
            "  JWTs: HS256, dev key in .local/jwt-dev-key, issuer/audience consent-guard-local (AWS: Cognito, RS256)",
            *(f"  {note}" for note in self.notes),
            "",
            "try:",
            f'  TOKEN=$(make -s token SUB=alice); curl -H "Authorization: Bearer $TOKEN" {url}/me/notifications',
            "local-only routes: /openapi.json /docs /console/ /local/token (POST) /local/health /local/events "
            "/local/queues /local/clock /local/tdb /local/schedule/run (POST) /local/queues/<DLQ>/redrive (POST)",
        ]
        return "\n".join(lines)
