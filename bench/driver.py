"""Drive the real handlers in-process on moto, the way API Gateway, SQS and the schedule invoke them on AWS.

Resources come from template.yaml (local/template.py); events start from the events/*.json files that
`sam local invoke` uses. Only public entry points are used: the handlers' `lambda_handler(event, context)`.
"""

from __future__ import annotations

import base64
import copy
import importlib
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.awscalls import CapacityMeter, Recorder, TableShape

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
REGION = "eu-west-1"

# logical id -> handler module (functions/<folder>/app.py), from the template's CodeUri
FUNCTIONS = {
    "ReportIntakeFunction": "report_intake",
    "PolicyEvaluationFunction": "policy_evaluation",
    "NotificationFunction": "notification",
    "EffectsFunction": "effects",
    "CaseApiFunction": "case_api",
    "ScheduledReviewFunction": "scheduled_review",
}
QUEUE_CONSUMERS = {
    "EvaluationQueue": "PolicyEvaluationFunction",
    "EffectsQueue": "EffectsFunction",
    "NotificationQueue": "NotificationFunction",
}


def fake_credentials() -> None:
    """Never reach a real account, whatever the shell has."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_DEV": "false",
        }
    )


def load_event(relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / relative).read_text())
    return event


def clear_product_caches() -> None:
    """Every module-level @cache of the product (settings, clients, services), whatever their names: the bench
    must not depend on which caches exist."""
    for name, module in list(sys.modules.items()):
        if not (name.startswith("consent_guard") or name.startswith("functions.")) or module is None:
            continue
        for value in list(vars(module).values()):
            if callable(value) and hasattr(value, "cache_clear") and getattr(value, "__module__", "") == name:
                value.cache_clear()


@dataclass
class LambdaContext:
    function_name: str = "consent-guard-bench"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:consent-guard-bench"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/consent-guard-bench"
    log_stream_name: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def http_event(
    template: str,
    *,
    body: Any = None,
    path_params: dict[str, str] | None = None,
    sub: str | None = None,
    platform: bool = False,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API payload-v2 event as the JWT authorizer passes it on, from an events/ file."""
    event = copy.deepcopy(load_event(template))
    if body is not None:
        event["body"] = json.dumps(body)
    if path_params is not None:
        event["pathParameters"] = path_params
        path = event["routeKey"].split(" ", 1)[1]
        for key, value in path_params.items():
            path = path.replace("{" + key + "}", value)
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    event["headers"].pop("idempotency-key", None)
    if headers:
        event["headers"].update(headers)
    jwt = event["requestContext"]["authorizer"]["jwt"]
    if platform:
        jwt["claims"] = {"sub": "platform-client", "client_id": "platform-client", "scope": "consent-guard/platform"}
        jwt["scopes"] = ["consent-guard/platform"]
    elif sub is not None:
        jwt["claims"] = {"sub": sub, "cognito:groups": "[]", "token_use": "access", "client_id": "apps-client"}
        jwt["scopes"] = None
    return event


def sqs_event(template_record: dict[str, Any], queue_arn: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    records = []
    for message in messages:
        record = copy.deepcopy(template_record)
        record.update(
            messageId=message["MessageId"],
            receiptHandle=message["ReceiptHandle"],
            body=message["Body"],
            md5OfBody=message["MD5OfBody"],
            eventSourceARN=queue_arn,
        )
        records.append(record)
    return {"Records": records}


def sqs_template(queue: str) -> dict[str, Any]:
    source = {
        "EvaluationQueue": "policy_evaluation/report_submitted.json",
        "EffectsQueue": "effects/outbox_ready.json",
    }.get(queue, "notification/notification_request.json")
    record: dict[str, Any] = load_event(source)["Records"][0]
    return record


# ---------------------------------------------------------------- reports and context the bench submits


def post_context_body(author: str, post_id: str, **signals: bool) -> dict[str, Any]:
    return {
        "author_id": author,
        "text": "look who I saw",
        "media": [{"media_id": f"{post_id}-m1", "media_type": "photo"}],
        "created_at": "2026-11-20T10:00:00Z",
        "signals": signals,
    }


def report_body(post_id: str, relationship: str = "self", category: str = "private_media") -> dict[str, Any]:
    attestations: dict[str, bool] = {"accurate_and_complete": True}
    if relationship == "self":
        attestations |= {"information_is_mine": True, "not_published_elsewhere": True}
    body: dict[str, Any] = {
        "post_id": post_id,
        "category": category,
        "relationship": relationship,
        "description": "This photo shows me at home; I never agreed to it being posted.",
        "attestations": attestations,
        "locale": "en",
    }
    if relationship == "authorized_representative":
        attestations["representative_authority"] = True
        body["represented_account_id"] = "acct-represented"
    return body


@dataclass(frozen=True)
class Invocation:
    result: dict[str, Any]
    seconds: float  # wall time of the handler call
    aws_seconds: float  # inside AWS calls (botocore before-call to after-call)
    handler_seconds: float  # the rest: the handler's own time
    cpu_seconds: float  # process time of the whole call (moto runs in this process, so AWS calls included)
    handler_cpu_seconds: float  # the handler's own process time (immune to other processes on the machine)


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    invocation: Invocation

    @property
    def seconds(self) -> float:
        return self.invocation.seconds

    @property
    def handler_seconds(self) -> float:
        return self.invocation.handler_seconds

    @property
    def cpu_seconds(self) -> float:
        return self.invocation.cpu_seconds

    @property
    def handler_cpu_seconds(self) -> float:
        return self.invocation.handler_cpu_seconds


@dataclass
class Driver:
    """One moto-backed stack with the product's handlers, counted by `recorder`."""

    recorder: Recorder
    session: Any = None
    resources: Any = None
    context: LambdaContext = field(default_factory=LambdaContext)
    batches: dict[str, int] = field(default_factory=dict)  # invocations per SQS consumer
    _modules: dict[str, ModuleType] = field(default_factory=dict)
    _mock: Any = None
    _templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -------------------------------------------------------- lifecycle

    def start(self) -> Driver:
        import boto3
        from moto import mock_aws

        from local.template import create_resources

        fake_credentials()
        self._mock = mock_aws()
        self._mock.start()
        self.session = boto3.Session(region_name=REGION)
        self.resources = create_resources(self.session)
        os.environ.update(self.resources.environment())
        clear_product_caches()
        return self

    def stop(self) -> None:
        clear_product_caches()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    @contextmanager
    def running(self) -> Iterator[Driver]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def capacity_meter(self) -> CapacityMeter:
        from local.template import resources as template_resources

        ((_, table),) = template_resources("AWS::DynamoDB::Table").items()
        return CapacityMeter(self.session.client("dynamodb"), TableShape.from_template(table["Properties"]))

    # -------------------------------------------------------- handlers

    def handler(self, function: str) -> ModuleType:
        if function not in self._modules:
            self._modules[function] = importlib.import_module(f"functions.{FUNCTIONS[function]}.app")
        return self._modules[function]

    def invoke(self, function: str, event: dict[str, Any]) -> Invocation:
        """Invoke a handler; its time is split into the time inside AWS calls and the handler's own."""
        module = self.handler(function)
        self.recorder.take()
        with self.recorder.labelled(function):
            cpu_started = time.process_time()
            started = time.perf_counter()
            result: dict[str, Any] = module.lambda_handler(event, self.context)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        aws, aws_cpu, meter = self.recorder.take()
        return Invocation(
            result=result,
            seconds=seconds,
            aws_seconds=aws,
            handler_seconds=seconds - aws - meter,
            cpu_seconds=cpu - meter,
            handler_cpu_seconds=cpu - aws_cpu - meter,
        )

    def http(self, function: str, event: dict[str, Any]) -> Response:
        invocation = self.invoke(function, event)
        text = invocation.result.get("body") or ""
        if invocation.result.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        return Response(invocation.result["statusCode"], json.loads(text) if text else {}, invocation)

    def put_post(self, post_id: str, author: str = "user-bob", **signals: bool) -> None:
        response = self.http(
            "ReportIntakeFunction",
            http_event(
                "report_intake/put_post_context.json",
                path_params={"post_id": post_id},
                body=post_context_body(author, post_id, **signals),
                platform=True,
            ),
        )
        if response.status != 200:
            raise RuntimeError(f"PUT /context/posts answered {response.status}: {response.body}")

    def put_account(self, account_id: str, **fields: Any) -> None:
        response = self.http(
            "ReportIntakeFunction",
            http_event(
                "report_intake/put_account_context.json",
                path_params={"account_id": account_id},
                body=fields,
                platform=True,
            ),
        )
        if response.status != 200:
            raise RuntimeError(f"PUT /context/accounts answered {response.status}: {response.body}")

    def submit(self, reporter: str, body: dict[str, Any], idempotency_key: str | None = None) -> Response:
        headers = {"idempotency-key": idempotency_key} if idempotency_key else None
        response = self.http(
            "ReportIntakeFunction",
            http_event("report_intake/submit_report.json", body=body, sub=reporter, headers=headers),
        )
        if response.status != 202:
            raise RuntimeError(f"POST /reports answered {response.status}: {response.body}")
        return response

    # -------------------------------------------------------- queues

    def receive(self, queue: str, max_messages: int = 10) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=self.resources.queues[queue], MaxNumberOfMessages=max_messages, VisibilityTimeout=60
        ).get("Messages", [])
        return messages

    def deliver(self, queue: str, rounds: int = 1_000) -> int:
        """Deliver the queue's messages to its consumer as real SQS batches; delete what succeeded."""
        function = QUEUE_CONSUMERS[queue]
        if queue not in self._templates:
            self._templates[queue] = sqs_template(queue)
        sqs = self.session.client("sqs")
        delivered = 0
        for _ in range(rounds):
            messages = self.receive(queue)
            if not messages:
                break
            event = sqs_event(self._templates[queue], self.resources.queue_arns[queue], messages)
            result = self.invoke(function, event).result
            self.batches[function] = self.batches.get(function, 0) + 1
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            if failed:
                raise RuntimeError(
                    f"{function} failed {len(failed)} of {len(messages)} messages: {self._batch_errors(function)}"
                )
            sqs.delete_message_batch(
                QueueUrl=self.resources.queues[queue],
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
            delivered += len(messages)
        return delivered

    def _batch_errors(self, function: str) -> str:
        """The exceptions of the last batch, from the batch processor the handler module uses (if it has one)."""
        found: list[str] = []
        for value in vars(self.handler(function)).values():
            for info in getattr(value, "exceptions", None) or []:
                exc = info[1] if isinstance(info, tuple) and len(info) > 1 else info
                found.append(f"{type(exc).__name__}: {exc}")
        return "; ".join(sorted(set(found))[:3]) or "no exception recorded"

    def purge(self, queue: str) -> None:
        """Drop what waits in a queue (receive and delete: SQS allows one PurgeQueue a minute)."""
        sqs = self.session.client("sqs")
        url = self.resources.queues[queue]
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
            "Messages", []
        ):
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def run_pipeline(self) -> None:
        """Evaluation, effects, then notification, until the queues are quiet."""
        for _ in range(10):
            moved = self.deliver("EvaluationQueue") + self.deliver("EffectsQueue") + self.deliver("NotificationQueue")
            if not moved:
                return

    def table(self) -> Any:
        return self.session.resource("dynamodb").Table(self.resources.tables["ConsentGuardTable"])

    def scheduled_review(self) -> Invocation:
        return self.invoke("ScheduledReviewFunction", load_event("scheduled_review/scheduled.json"))
