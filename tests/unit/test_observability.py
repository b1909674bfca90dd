"""consent_guard.observability: the JSON log lines and the EMF documents the functions write, key by key."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from consent_guard.observability import Logger, Metrics, MetricUnit, correlation_paths
from tests.conftest import FakeLambdaContext


@pytest.fixture
def log() -> Iterator[tuple[Logger, io.StringIO]]:
    subject = Logger(service="observability-test")
    buffer = io.StringIO()
    inner = subject._logger
    for handler in inner.handlers:
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
    try:
        yield subject, buffer
    finally:
        inner.handlers.clear()


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_record_is_one_json_line_with_the_context_the_correlation_id_and_its_keys(
    log: tuple[Logger, io.StringIO],
) -> None:
    logger, buffer = log
    event = {"requestContext": {"requestId": "req-42"}}

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    def handler(event: dict[str, Any], context: FakeLambdaContext) -> str:
        logger.append_keys(case_id="case-1")
        logger.info("case evaluated", outcome="remove", absent=None)
        return "done"

    assert handler(event, FakeLambdaContext()) == "done"
    assert handler(event, FakeLambdaContext(aws_request_id="second")) == "done"
    first, second = _lines(buffer)
    assert list(first)[:5] == ["level", "location", "message", "timestamp", "service"]
    assert first["level"] == "INFO" and first["message"] == "case evaluated"
    assert first["location"].startswith("handler:")  # the caller, not the logging module
    assert first["service"] == "observability-test"
    assert first["correlation_id"] == "req-42"
    assert first["case_id"] == "case-1" and first["outcome"] == "remove"
    assert "absent" not in first  # None is left out
    assert first["cold_start"] is True and second["cold_start"] is False
    assert first["function_name"] == "consent-guard-test" and second["function_request_id"] == "second"
    assert first["timestamp"].endswith("+0000")


def test_clear_state_drops_the_previous_invocations_keys(log: tuple[Logger, io.StringIO]) -> None:
    logger, buffer = log
    calls: list[int] = []

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: FakeLambdaContext) -> None:
        if not calls:
            logger.append_keys(message_id="m-1")
        calls.append(1)
        logger.warning("handled")

    handler({}, FakeLambdaContext())
    handler({}, FakeLambdaContext())
    first, second = _lines(buffer)
    assert first["message_id"] == "m-1" and "message_id" not in second
    assert "correlation_id" not in second


def test_exceptions_levels_and_the_threshold(log: tuple[Logger, io.StringIO]) -> None:
    logger, buffer = log
    logger.setLevel("WARNING")
    logger.info("not written")
    try:
        raise KeyError("k")
    except KeyError:
        logger.exception("timer failed", kind="expiry")
    (line,) = _lines(buffer)
    assert line["level"] == "ERROR" and line["kind"] == "expiry"
    assert line["exception_name"] == "KeyError" and "Traceback" in line["exception"]


def test_metrics_are_one_emf_document_per_invocation_with_the_cold_start_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = Metrics(namespace="ConsentGuard", service="consent-guard")

    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: FakeLambdaContext) -> None:
        metrics.add_metric(name="ReportsAccepted", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ReportsAccepted", unit=MetricUnit.Count, value=2)
        metrics.add_metric(name="Latency", unit="Milliseconds", value=12.5)
        if event.get("fail"):
            raise RuntimeError("boom")

    handler({}, FakeLambdaContext())
    with pytest.raises(RuntimeError):
        handler({"fail": True}, FakeLambdaContext())
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cold, first, second = documents  # the cold start once; the failed invocation's metrics are still written
    assert cold["ColdStart"] == [1.0] and cold["function_name"] == "consent-guard-test"
    assert cold["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["function_name", "service"]]
    for document in (first, second):
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "ConsentGuard" and directive["Dimensions"] == [["service"]]
        assert directive["Metrics"] == [
            {"Name": "ReportsAccepted", "Unit": "Count"},
            {"Name": "Latency", "Unit": "Milliseconds"},
        ]
        assert document["service"] == "consent-guard"
        assert document["ReportsAccepted"] == [1.0, 2.0] and document["Latency"] == [12.5]
        assert isinstance(document["_aws"]["Timestamp"], int)


def test_metrics_refuse_what_cloudwatch_would_and_flush_at_its_limit(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = Metrics(namespace="ConsentGuard", service="consent-guard")
    for name, unit in (("", MetricUnit.Count), ("X", "Parsecs")):
        with pytest.raises(ValueError):
            metrics.add_metric(name=name, unit=unit, value=1)
    with pytest.raises(ValueError):
        metrics.add_metric(name="X", unit=MetricUnit.Count, value="1")  # type: ignore[arg-type]
    for n in range(100):
        metrics.add_metric(name=f"M{n}", unit=MetricUnit.Count, value=n)
    (document,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(document["_aws"]["CloudWatchMetrics"][0]["Metrics"]) == 100
    metrics.flush_metrics()  # nothing pending: nothing written
    assert capsys.readouterr().out == ""
