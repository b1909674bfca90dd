"""Logger and Metrics, created once per process. Log ids and outcomes, never report content.

Structured JSON logs and CloudWatch EMF metrics on the standard library alone: powertools' Logger and Metrics
(with the Tracer its package imports beside them) were ~40 modules of every function's cold start
(docs/benchmarks.md). The interface is the part of theirs we use, and the output is theirs too:

- `logger.info("case evaluated", case_id=...)`: one JSON line on stdout with `level`, `location`, `message`,
  `timestamp`, `service`, the Lambda context (`cold_start`, `function_name`, `function_memory_size`,
  `function_arn`, `function_request_id`), `correlation_id`, `xray_trace_id`, keys added with `append_keys`, the
  call's own keys, and `exception` / `exception_name` for `logger.exception`. Keys whose value is None are left out.
- `@logger.inject_lambda_context(correlation_id_path=..., clear_state=True)` sets the context (and the correlation
  id, from a dotted path into the event) per invocation, `clear_state` dropping the previous invocation's keys.
- `metrics.add_metric(name=, unit=MetricUnit.Count, value=)`, flushed by `@metrics.log_metrics(...)` after each
  invocation (and whenever 100 metrics or 100 values of one are pending) as one EMF document in namespace
  ConsentGuard with the `service` dimension; `capture_cold_start_metric` adds the ColdStart metric (dimensions
  function_name and service) on the first invocation.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Protocol, TypeVar, cast

from consent_guard import startup

__all__ = ["LambdaContext", "Logger", "MetricUnit", "Metrics", "correlation_paths", "logger", "metrics"]

_Handler = TypeVar("_Handler", bound=Callable[..., Any])
_FIELDS = "_consent_guard_fields"
MAX_METRICS = 100


class LambdaContext(Protocol):
    """What the handlers read of the Python runtime's context object."""

    @property
    def function_name(self) -> str: ...
    @property
    def memory_limit_in_mb(self) -> int: ...
    @property
    def invoked_function_arn(self) -> str: ...
    @property
    def aws_request_id(self) -> str: ...
    def get_remaining_time_in_millis(self) -> int: ...


class correlation_paths:
    """Where an event carries the id to correlate logs by (dotted paths into the event)."""

    API_GATEWAY_REST = "requestContext.requestId"
    API_GATEWAY_HTTP = API_GATEWAY_REST


class MetricUnit(Enum):
    """CloudWatch's units."""

    Seconds = "Seconds"
    Microseconds = "Microseconds"
    Milliseconds = "Milliseconds"
    Bytes = "Bytes"
    Kilobytes = "Kilobytes"
    Megabytes = "Megabytes"
    Gigabytes = "Gigabytes"
    Terabytes = "Terabytes"
    Bits = "Bits"
    Kilobits = "Kilobits"
    Megabits = "Megabits"
    Gigabits = "Gigabits"
    Terabits = "Terabits"
    Percent = "Percent"
    Count = "Count"
    BytesPerSecond = "Bytes/Second"
    KilobytesPerSecond = "Kilobytes/Second"
    MegabytesPerSecond = "Megabytes/Second"
    GigabytesPerSecond = "Gigabytes/Second"
    TerabytesPerSecond = "Terabytes/Second"
    BitsPerSecond = "Bits/Second"
    KilobitsPerSecond = "Kilobits/Second"
    MegabitsPerSecond = "Megabits/Second"
    GigabitsPerSecond = "Gigabits/Second"
    TerabitsPerSecond = "Terabits/Second"
    CountPerSecond = "Count/Second"
    NoUnit = "None"


_UNITS = {unit.value for unit in MetricUnit}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: the fixed keys first, then the logger's keys, then the call's."""

    def __init__(self, owner: Logger) -> None:
        super().__init__()
        self._owner = owner

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.created)) + f",{int(record.msecs):03d}+0000"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": self.formatTime(record),
            "service": self._owner.service,
            **self._owner.context,
            "xray_trace_id": _trace_id(),
            **self._owner.keys,
            **getattr(record, _FIELDS, {}),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = self.formatException(record.exc_info)
            entry["exception_name"] = record.exc_info[0].__name__
        return json.dumps({k: v for k, v in entry.items() if v is not None}, default=str, separators=(",", ":"))


def _trace_id() -> str | None:
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    return header.partition(";")[0].partition("=")[2] or None


def _at_path(event: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(event, Mapping):
            return None
        event = event.get(part)
    return event


class Logger:
    """A JSON logger named after the service, on stdout, at POWERTOOLS_LOG_LEVEL (INFO by default)."""

    def __init__(self, service: str | None = None) -> None:
        self.service = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"
        self.context: dict[str, Any] = {}
        self.keys: dict[str, Any] = {}
        self._cold_start = True
        self._logger = logging.getLogger(self.service)
        self._logger.propagate = False
        self.registered_formatter = JsonFormatter(self)
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(self.registered_formatter)
        self._logger.addHandler(handler)
        self.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "INFO")

    def setLevel(self, level: str | int) -> None:
        self._logger.setLevel(level.upper() if isinstance(level, str) else level)

    def _log(self, level: int, msg: object, args: tuple[object, ...], exc_info: Any, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            # stacklevel 3: the location is the caller of info()/warning()/..., not this module
            self._logger.log(level, msg, *args, exc_info=exc_info, stacklevel=3, extra={_FIELDS: fields})

    def debug(self, msg: object, *args: object, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.DEBUG, msg, args, exc_info, fields)

    def info(self, msg: object, *args: object, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.INFO, msg, args, exc_info, fields)

    def warning(self, msg: object, *args: object, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.WARNING, msg, args, exc_info, fields)

    def error(self, msg: object, *args: object, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.ERROR, msg, args, exc_info, fields)

    def exception(self, msg: object, *args: object, exc_info: Any = True, **fields: Any) -> None:
        self._log(logging.ERROR, msg, args, exc_info, fields)

    def critical(self, msg: object, *args: object, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.CRITICAL, msg, args, exc_info, fields)

    def append_keys(self, **keys: Any) -> None:
        self.keys.update(keys)

    def remove_keys(self, keys: list[str]) -> None:
        for key in keys:
            self.keys.pop(key, None)

    def set_correlation_id(self, value: str | None) -> None:
        self.keys["correlation_id"] = value

    def get_correlation_id(self) -> str | None:
        value = self.keys.get("correlation_id")
        return None if value is None else str(value)

    def inject_lambda_context(
        self, *, correlation_id_path: str | None = None, clear_state: bool = False
    ) -> Callable[[_Handler], _Handler]:
        """Decorator: the invocation's context (and correlation id) on every record it logs."""
        return functools.partial(self._inject, correlation_id_path=correlation_id_path, clear_state=clear_state)

    def _inject(self, handler: _Handler, *, correlation_id_path: str | None, clear_state: bool) -> _Handler:
        @functools.wraps(handler)
        def decorate(event: Any, context: LambdaContext, *args: Any, **kwargs: Any) -> Any:
            if clear_state:
                self.keys.clear()
            self.context = {
                "cold_start": self._cold_start,
                "function_name": getattr(context, "function_name", None),
                "function_memory_size": getattr(context, "memory_limit_in_mb", None),
                "function_arn": getattr(context, "invoked_function_arn", None),
                "function_request_id": getattr(context, "aws_request_id", None),
            }
            self._cold_start = False
            if correlation_id_path:
                value = _at_path(event, correlation_id_path)
                self.set_correlation_id(None if value is None else str(value))
            try:
                return handler(event, context, *args, **kwargs)
            finally:
                startup.init_done()  # the collector resumes once the first invocation has answered (see startup)

        return cast("_Handler", decorate)


class Metrics:
    """Metrics of one invocation, written as CloudWatch embedded metric format (one JSON line on stdout)."""

    def __init__(self, namespace: str | None = None, service: str | None = None) -> None:
        self.namespace = namespace or os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "ConsentGuard"
        self.service = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"
        self._pending: dict[str, tuple[str, list[float]]] = {}
        self._cold_start = True

    def add_metric(self, name: str, unit: MetricUnit | str, value: float) -> None:
        name = name.strip()
        if not 1 <= len(name) <= 255:
            raise ValueError("a metric name has 1 to 255 characters")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r} is not a valid metric value")
        unit_name = unit.value if isinstance(unit, MetricUnit) else unit
        if unit_name not in _UNITS:
            raise ValueError(f"{unit_name!r} is not a CloudWatch unit")
        values = self._pending.setdefault(name, (unit_name, []))[1]
        values.append(float(value))
        if len(self._pending) == MAX_METRICS or len(values) == MAX_METRICS:
            self.flush_metrics()

    def clear_metrics(self) -> None:
        self._pending.clear()

    def _write(self, values: Mapping[str, tuple[str, list[float]]], dimensions: dict[str, str]) -> None:
        if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
            return
        document = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [list(dimensions)],
                        "Metrics": [{"Name": name, "Unit": unit} for name, (unit, _) in values.items()],
                    }
                ],
            },
            **dimensions,
            **{name: list(points) for name, (_, points) in values.items()},
        }
        sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def flush_metrics(self) -> None:
        if self._pending:
            pending = dict(self._pending)
            self._pending.clear()
            self._write(pending, {"service": self.service})

    def log_metrics(self, *, capture_cold_start_metric: bool = False) -> Callable[[_Handler], _Handler]:
        """Decorator: the invocation's metrics written when it ends, however it ends."""
        return functools.partial(self._logged, capture_cold_start_metric=capture_cold_start_metric)

    def _logged(self, handler: _Handler, *, capture_cold_start_metric: bool) -> _Handler:
        @functools.wraps(handler)
        def decorate(event: Any, context: LambdaContext, *args: Any, **kwargs: Any) -> Any:
            if capture_cold_start_metric and self._cold_start:
                name = getattr(context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
                self._write({"ColdStart": ("Count", [1.0])}, {"function_name": str(name), "service": self.service})
            self._cold_start = False
            try:
                return handler(event, context, *args, **kwargs)
            finally:
                self.flush_metrics()

        return cast("_Handler", decorate)


logger = Logger(service="consent-guard")
metrics = Metrics(namespace="ConsentGuard", service="consent-guard")
