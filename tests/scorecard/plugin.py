"""pytest plugin of the scorecard: each test's outcome and its recorded `figure` properties, written as JSON.

A test adds to its check's figure with `record_property("figure", "...")`. Skipped counts as not passed.
"""

from __future__ import annotations

import contextvars
import importlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

_results: dict[str, dict[str, Any]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _results.setdefault(report.nodeid, {"outcome": "passed", "figures": [], "longrepr": ""})
    if report.failed:
        entry["outcome"] = "failed"
        entry["longrepr"] += f"[{report.when}] {report.longreprtext}\n"
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"
        entry["longrepr"] += f"[{report.when}] skipped: {report.longreprtext}\n"
    if report.when == "call":
        entry["figures"] += [str(value) for name, value in report.user_properties if name == "figure"]


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("SCORECARD_RESULTS")
    if target and not hasattr(session.config, "workerinput"):  # the controller writes, not xdist workers
        Path(target).write_text(json.dumps(_results, indent=1))


# ---------------------------------------------------------------- AWS calls made by each function (check 10)
# With SCORECARD_CALLS set to a directory, every AWS API call made while a function's lambda_handler runs is
# recorded with the IAM action(s) and resource(s) it needs; the template check compares them with each function's
# policy. Calls made by the tests themselves (setup, assertions) happen outside a handler and are not recorded.

_CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("scorecard_function", default=None)
_calls: set[tuple[str, str, str]] = set()


def _resource(name: str) -> str:
    """cg-ConsentGuardTable / .../cg-EvaluationQueue / .../cg-ReReviewShardQueue.fifo / cg-EnforcementBus -> the
    template's logical id (a FIFO queue's name carries SQS's .fifo suffix)."""
    return name.rstrip("/").rsplit("/", 1)[-1].removeprefix("cg-").removesuffix(".fifo")


def _bucket(name: str) -> str:
    """cg-banksnapshotbucket (bucket names are lower case) -> the template's logical id."""
    from local.template import resources

    bare = name.removeprefix("cg-")
    return next((b for b in resources("AWS::S3::Bucket") if b.lower() == bare), bare)


def iam_needs(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(IAM action, logical resource) pairs an API call needs."""
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            kinds = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
            }
            return [
                (f"dynamodb:{kinds[kind]}", _resource(body["TableName"]))
                for item in params.get("TransactItems", [])
                for kind, body in item.items()
            ]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", _resource(t)) for t in params.get("RequestItems", {})]
        table = _resource(params.get("TableName", "?"))
        if params.get("IndexName"):
            table = f"{table}/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", table)]
    if service == "sqs":
        action = "sqs:SendMessage" if operation in ("SendMessage", "SendMessageBatch") else f"sqs:{operation}"
        return [(action, _resource(params.get("QueueUrl", "?")))]
    if service == "eventbridge":
        return [(f"events:{operation}", _resource(e.get("EventBusName", "default"))) for e in params.get("Entries", [])]
    if service == "sesv2":
        return [(f"ses:{operation}", "*")]
    if service == "ssm" and "Name" in params:
        name = str(params["Name"])
        return [(f"ssm:{operation}", f"arn:aws:ssm:eu-west-1:123456789012:parameter{name}")]
    if service == "s3":
        return [(f"s3:{operation}", f"{_bucket(params.get('Bucket', '?'))}/{params.get('Key', '')}")]
    return [(f"{service}:{operation}", "*")]


def _install_recorder() -> None:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    if getattr(original, "_scorecard", False):
        return

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        function = _CURRENT.get()
        if function is not None:
            service = self.meta.service_model.service_id.hyphenize()
            for action, resource in iam_needs(service, operation_name, api_params):
                _calls.add((function, action, resource))
        return original(self, operation_name, api_params)

    recording._scorecard = True  # type: ignore[attr-defined]
    BaseClient._make_api_call = recording  # type: ignore[method-assign]


def _wrap_handlers() -> None:
    from local.template import resources

    for logical_id, resource in resources("AWS::Serverless::Function").items():
        name = str(resource["Properties"]["CodeUri"]).rstrip("/").split("/")[-1]
        module = importlib.import_module(f"functions.{name}.app")
        handler = module.lambda_handler
        if getattr(handler, "_scorecard", False):
            continue

        def attributed(event: Any, context: Any, _handler: Any = handler, _function: str = logical_id) -> Any:
            token = _CURRENT.set(_function)
            try:
                return _handler(event, context)
            finally:
                _CURRENT.reset(token)

        attributed._scorecard = True  # type: ignore[attr-defined]
        module.lambda_handler = attributed


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if os.environ.get("SCORECARD_CALLS"):
        _install_recorder()
        _wrap_handlers()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    target = os.environ.get("SCORECARD_CALLS")
    if target:
        worker = getattr(config, "workerinput", {}).get("workerid", "main")
        Path(target, f"calls-{worker}.json").write_text(json.dumps(sorted(_calls)))
