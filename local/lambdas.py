"""The template's functions as in-process "Lambda instances": loaded once, invoked one event at a time each."""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import load_template, resources

log = logging.getLogger("local_stack.lambda")

ACCOUNT_ID = "123456789012"  # moto's default account
NAME_PREFIX = "cg"


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: str  # e.g. "functions/report_intake"
    handler: str  # e.g. "app.lambda_handler"
    timeout: int
    memory_size: int
    properties: dict[str, Any]

    @property
    def name(self) -> str:
        return Path(self.code_uri).name

    @property
    def physical_name(self) -> str:
        return f"{NAME_PREFIX}-{self.logical_id}"

    def arn(self, region: str) -> str:
        return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.physical_name}"


def function_specs() -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function with its Globals applied."""
    globals_ = load_template().get("Globals", {}).get("Function", {})
    specs = {}
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        props = resource["Properties"]
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=str(props["CodeUri"]).rstrip("/"),
            handler=str(props.get("Handler", globals_.get("Handler", "app.lambda_handler"))),
            timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
            memory_size=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
            properties=props,
        )
    return specs


def schedule_events(spec: FunctionSpec) -> list[dict[str, Any]]:
    """The function's `Schedule` events: name, expression (parameter defaults resolved), async retry settings."""
    parameters = load_template().get("Parameters", {})
    out = []
    for event_name, event in spec.properties.get("Events", {}).items():
        if event["Type"] != "Schedule":
            continue
        expression = event["Properties"]["Schedule"]
        if isinstance(expression, dict) and "Ref" in expression:
            expression = parameters[expression["Ref"]]["Default"]
        out.append({"event": event_name, "schedule": str(expression)})
    return out


def on_failure_destination(spec: FunctionSpec) -> str | None:
    """Logical id of the SQS queue that EventInvokeConfig sends failed asynchronous invocations to."""
    destination = spec.properties.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure", {})
    target = destination.get("Destination")
    if destination.get("Type") == "SQS" and isinstance(target, dict) and "Fn::GetAtt" in target:
        return str(target["Fn::GetAtt"][0])
    return None


def async_retry_attempts(spec: FunctionSpec) -> int:
    return int(spec.properties.get("EventInvokeConfig", {}).get("MaximumRetryAttempts", 2))


class LambdaContext:
    """The attributes and method of the Python runtime's context object that handlers and powertools use."""

    def __init__(self, spec: FunctionSpec, region: str) -> None:
        self.function_name = spec.physical_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn(region)
        self.memory_limit_in_mb = spec.memory_size
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.physical_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionNotLoaded(Exception):
    """The function's module could not be imported (a missing file or an init error)."""


@dataclass
class LocalFunction:
    """One function: its module, imported once (the cold start), and a lock so it handles one event at a time."""

    spec: FunctionSpec
    code_root: Path
    region: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    module: ModuleType | None = None
    load_error: str | None = None

    @property
    def module_name(self) -> str:
        return f"functions.{self.spec.name}.{self.spec.handler.rsplit('.', 1)[0]}"

    @property
    def path(self) -> Path:
        return self.code_root / self.spec.code_uri / f"{self.spec.handler.rsplit('.', 1)[0]}.py"

    def load(self) -> None:
        """Import the handler module by file path under a unique name (every function's module is `app`)."""
        path = self.path
        if not path.is_file():
            self.load_error = f"missing {path.relative_to(self.code_root)}"
            return
        spec = importlib.util.spec_from_file_location(self.module_name, path)
        if spec is None or spec.loader is None:
            self.load_error = f"cannot import {path}"
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules[self.module_name] = module
        started = time.perf_counter()
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # an init error: report it, keep the rest of the stack running
            del sys.modules[self.module_name]
            self.load_error = f"init error {type(exc).__name__}"
            log.error(
                "function init failed function=%s error=%s\n%s",
                self.spec.logical_id,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            return
        if not callable(getattr(module, self.spec.handler.rsplit(".", 1)[1], None)):
            self.load_error = f"{path.name} has no {self.spec.handler.rsplit('.', 1)[1]}"
            return
        self.module = module
        log.info(
            "function loaded function=%s module=%s init_ms=%d",
            self.spec.logical_id,
            self.module_name,
            (time.perf_counter() - started) * 1000,
        )

    @property
    def handler(self) -> Callable[[Any, Any], Any]:
        if self.module is None:
            raise FunctionNotLoaded(self.load_error or "not loaded")
        handler: Callable[[Any, Any], Any] = getattr(self.module, self.spec.handler.rsplit(".", 1)[1])
        return handler

    def invoke(self, event: Any) -> Invocation:
        """Run the handler with a fresh context, one event at a time. A handler error is returned, not raised."""
        handler = self.handler
        with self.lock:
            context = LambdaContext(self.spec, self.region)
            started = time.monotonic()
            try:
                outcome = Invocation(context.aws_request_id, result=handler(event, context))
            except Exception as exc:  # the function errored: Lambda reports it to the caller, so do we
                outcome = Invocation(context.aws_request_id, error=exc)
            outcome.duration_ms = int((time.monotonic() - started) * 1000)
        if outcome.duration_ms > self.spec.timeout * 1000:
            log.warning(
                "invocation exceeded the function timeout function=%s request_id=%s ms=%d timeout_s=%d",
                self.spec.logical_id,
                outcome.request_id,
                outcome.duration_ms,
                self.spec.timeout,
            )
        if outcome.error is not None:
            log.error(
                "function error function=%s request_id=%s error=%s",
                self.spec.logical_id,
                outcome.request_id,
                error_summary(outcome.error),
            )
        return outcome


@dataclass
class Invocation:
    request_id: str
    result: Any = None
    error: Exception | None = None
    duration_ms: int = 0

    def error_payload(self) -> dict[str, str]:
        """What Lambda returns for an unhandled error (errorType, errorMessage)."""
        assert self.error is not None
        return {"errorType": type(self.error).__name__, "errorMessage": str(self.error)}


def error_summary(exc: BaseException) -> str:
    """Type and stack frames of an error, without its message (messages can carry request data)."""
    return f"{type(exc).__name__}\n{''.join(traceback.format_tb(exc.__traceback__))}".rstrip()
