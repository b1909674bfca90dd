"""Background work of the local stack: SQS event source mappings, the EventBridge tap, the schedule, DLQ redrive."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from local.lambdas import ACCOUNT_ID, Invocation, LocalFunction

log = logging.getLogger("local_stack.pollers")

TAP_NAME = "cg-local-event-tap"  # not in the template: the runner's own window onto the bus
MATCH_EVERYTHING = {"source": [{"prefix": ""}]}


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SQS API casing (StringValue) to Lambda's SQS event casing (stringValue); binary values base64-encoded."""
    out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return out


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event Lambda's SQS event source mapping delivers."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {k: _message_attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


class SqsPoller(threading.Thread):
    """An event source mapping: receive a batch, invoke, delete what succeeded (partial batch responses honoured)."""

    def __init__(
        self,
        function: LocalFunction,
        queue: str,
        queue_url: str,
        queue_arn: str,
        batch_size: int,
        report_batch_item_failures: bool,
        sqs: Any,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"sqs-{queue}", daemon=True)
        self.function = function
        self.queue = queue
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = max(1, min(batch_size, 10))
        self.report_batch_item_failures = report_batch_item_failures
        self.sqs = sqs
        self.stop = stop

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                response = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=self.batch_size,
                    WaitTimeSeconds=1,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception as exc:  # moto going away at shutdown, or a transient error: log and poll again
                if self.stop.is_set():
                    return
                log.warning("receive failed queue=%s error=%s", self.queue, type(exc).__name__)
                self.stop.wait(1)
                continue
            messages = response.get("Messages", [])
            if messages and self.stop.is_set():
                self.hand_back(messages)
                return
            if messages:
                self.deliver(messages)

    def hand_back(self, messages: list[dict[str, Any]]) -> None:
        """Stopping: received but not invoked, so make them visible again at once instead of after the timeout."""
        try:
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(messages)
                ],
            )
            log.info("handed back queue=%s count=%d", self.queue, len(messages))
        except Exception as exc:  # they become visible after the visibility timeout anyway
            log.warning("hand back failed queue=%s error=%s", self.queue, type(exc).__name__)

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        region = self.queue_arn.split(":")[3]
        event = {"Records": [sqs_record(m, self.queue_arn, region) for m in messages]}
        ids = [m["MessageId"] for m in messages]
        invocation = self.function.invoke(event)
        failed = self.failed_ids(invocation, ids)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            try:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
                )
            except Exception as exc:  # the messages will simply be delivered again: at-least-once
                log.warning("delete failed queue=%s count=%d error=%s", self.queue, len(chunk), type(exc).__name__)
        log.info(
            "delivery queue=%s function=%s request_id=%s count=%d failures=%d error=%s failed_ids=%s receive_counts=%s",
            self.queue,
            self.function.spec.logical_id,
            invocation.request_id,
            len(messages),
            len(failed),
            type(invocation.error).__name__ if invocation.error is not None else "-",
            ",".join(sorted(failed)) or "-",
            ",".join(m.get("Attributes", {}).get("ApproximateReceiveCount", "?") for m in messages),
        )

    def failed_ids(self, invocation: Invocation, ids: list[str]) -> set[str]:
        """Lambda's rules for a batch: an error fails all; partial failures only with ReportBatchItemFailures."""
        if invocation.error is not None:
            return set(ids)
        result = invocation.result
        failures = result.get("batchItemFailures") if isinstance(result, dict) else None
        if not self.report_batch_item_failures:
            if failures:
                log.warning(
                    "batchItemFailures ignored: the event source lacks FunctionResponseTypes ReportBatchItemFailures "
                    "queue=%s",
                    self.queue,
                )
            return set()
        if result is None or result == "" or (isinstance(result, dict) and failures is None):
            return set()
        if not isinstance(result, dict) or not isinstance(failures, list):
            log.warning("invalid batch response, whole batch fails queue=%s", self.queue)
            return set(ids)
        failed = set()
        for item in failures:
            identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not identifier or identifier not in ids:
                log.warning("invalid itemIdentifier in batch response, whole batch fails queue=%s", self.queue)
                return set(ids)
            failed.add(str(identifier))
        return failed


class EventTap(threading.Thread):
    """A rule on the bus that forwards every event to a local queue; kept in memory for GET /local/events."""

    def __init__(self, bus_name: str, sqs: Any, events: Any, stop: threading.Event, keep: int = 1000) -> None:
        super().__init__(name="event-tap", daemon=True)
        self.bus_name = bus_name
        self.sqs = sqs
        self.stop = stop
        self.received: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.queue_url = sqs.create_queue(QueueName=TAP_NAME)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name=TAP_NAME, EventBusName=bus_name, EventPattern=json.dumps(MATCH_EVERYTHING), State="ENABLED"
        )
        events.put_targets(Rule=TAP_NAME, EventBusName=bus_name, Targets=[{"Id": "local-tap", "Arn": queue_arn}])

    def snapshot(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self.received)
        return [e for e in items if detail_type is None or e.get("detail-type") == detail_type]

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                response = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            except Exception as exc:  # moto going away at shutdown, or a transient error: log and poll again
                if self.stop.is_set():
                    return
                log.warning("event tap receive failed error=%s", type(exc).__name__)
                self.stop.wait(1)
                continue
            for message in response.get("Messages", []):
                self._record(message)

    def _record(self, message: dict[str, Any]) -> None:
        try:
            event = json.loads(message["Body"])
            detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
        except (ValueError, AttributeError) as exc:
            log.warning("event tap: unreadable event message_id=%s error=%s", message["MessageId"], type(exc).__name__)
        else:
            event.setdefault("account", ACCOUNT_ID)
            with self._lock:
                self.received.append(event)
            log.info(
                "event bus=%s detail_type=%s id=%s case_id=%s",
                self.bus_name,
                event.get("detail-type"),
                event.get("id"),
                detail.get("case_id", detail.get("caseId", "-")),
            )
        try:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception as exc:  # at worst the event is listed twice
            log.warning("event tap delete failed error=%s", type(exc).__name__)


class ScheduledInvoker:
    """EventBridge Scheduler's side of a `Schedule` event: the event it sends and Lambda's asynchronous retries."""

    RETRY_DELAYS = (1.0, 2.0)  # Lambda waits about 1 and 2 minutes; seconds here, so failures show up quickly

    def __init__(
        self,
        function: LocalFunction,
        event_name: str,
        schedule: str,
        sqs: Any,
        failure_queue: str | None,
        failure_queue_url: str | None,
        retries: int,
    ) -> None:
        self.function = function
        self.event_name = event_name
        self.schedule = schedule
        self.sqs = sqs
        self.failure_queue = failure_queue
        self.failure_queue_url = failure_queue_url
        self.retries = retries
        self.rule_arn = f"arn:aws:events:{function.region}:{ACCOUNT_ID}:rule/{function.spec.physical_name}-{event_name}"

    def event(self) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.function.region,
            "resources": [self.rule_arn],
            "detail": {},
        }

    def invoke_now(self) -> Invocation:
        """A synchronous invocation (`aws lambda invoke`): one attempt, result or error returned to the caller."""
        invocation = self.function.invoke(self.event())
        self._log(invocation, attempt=1)
        return invocation

    def invoke_async(self, stop: threading.Event) -> None:
        """An asynchronous invocation as the schedule makes it: retried, then sent to the on-failure destination."""
        event = self.event()
        for attempt in range(1, self.retries + 2):
            invocation = self.function.invoke(event)
            self._log(invocation, attempt)
            if invocation.error is None:
                return
            if attempt <= self.retries and stop.wait(self.RETRY_DELAYS[min(attempt - 1, len(self.RETRY_DELAYS) - 1)]):
                return
        self._send_to_failure_destination(event, invocation, attempts=self.retries + 1)

    def _log(self, invocation: Invocation, attempt: int) -> None:
        log.info(
            "scheduled invocation function=%s request_id=%s attempt=%d outcome=%s ms=%d",
            self.function.spec.logical_id,
            invocation.request_id,
            attempt,
            "ok" if invocation.error is None else type(invocation.error).__name__,
            invocation.duration_ms,
        )

    def _send_to_failure_destination(self, event: dict[str, Any], invocation: Invocation, attempts: int) -> None:
        if not self.failure_queue_url:
            log.error("scheduled invocation failed, no on-failure destination event_id=%s", event["id"])
            return
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{self.function.spec.arn(self.function.region)}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": invocation.error_payload(),
        }
        self.sqs.send_message(QueueUrl=self.failure_queue_url, MessageBody=json.dumps(record))
        log.error(
            "scheduled invocation failed after retries, sent to queue=%s event_id=%s request_id=%s",
            self.failure_queue,
            event["id"],
            invocation.request_id,
        )


class Scheduler(threading.Thread):
    """Fires the schedule every `interval` seconds (the template's rate is shortened locally)."""

    def __init__(self, invokers: list[ScheduledInvoker], interval: float, stop: threading.Event) -> None:
        super().__init__(name="scheduler", daemon=True)
        self.invokers = invokers
        self.interval = interval
        self.stop = stop

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            for invoker in self.invokers:
                try:
                    invoker.invoke_async(self.stop)
                except Exception as exc:  # e.g. the failure destination unreachable: log, keep the schedule going
                    log.error(
                        "schedule run failed function=%s error=%s",
                        invoker.function.spec.logical_id,
                        type(exc).__name__,
                    )


def redrive(sqs: Any, dlq_url: str, source_url: str) -> int:
    """Move every message of a dead-letter queue back to its source queue (body and message attributes kept)."""
    moved = 0
    while True:
        response = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=60,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return moved
        for message in messages:
            attributes = {
                name: {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
                for name, value in message.get("MessageAttributes", {}).items()
            }
            kwargs: dict[str, Any] = {"QueueUrl": source_url, "MessageBody": message["Body"]}
            if attributes:
                kwargs["MessageAttributes"] = attributes
            sqs.send_message(**kwargs)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def wait_for_threads(threads: list[threading.Thread], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for thread in threads:
        if thread.is_alive():
            thread.join(max(0.0, deadline - time.monotonic()))
