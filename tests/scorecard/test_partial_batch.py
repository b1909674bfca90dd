"""Check 7: a batch of 5 with one poison message: only it is reported failed; redelivered up to the template's
maxReceiveCount it reaches the DLQ; the other four are processed exactly once."""

from __future__ import annotations

import collections
import json
from typing import Any

import pytest

from local.template import load_template, sqs_event_sources
from tests.handlers.conftest import Stack

POISONS = {
    "not JSON": "{not json",
    "unknown message type": json.dumps({"type": "unknown", "report_id": "r_x"}),
}


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_one_poison_message_in_a_batch_of_five(stack: Stack, poison: str, record_property: Any) -> None:
    from consent_guard.consumers import evaluation as consumers

    assert sqs_event_sources("PolicyEvaluationFunction")[0]["report_batch_item_failures"]
    max_receives = int(
        load_template()["Resources"]["EvaluationQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    )
    stack.post_context()
    reports = [stack.report(sub=f"user-{i}") for i in range(4)]
    sqs = stack.session.client("sqs")
    queue = stack.resources.queues["EvaluationQueue"]
    sqs.send_message(QueueUrl=queue, MessageBody=POISONS[poison])

    handled: collections.Counter[str] = collections.Counter()
    service = consumers.evaluation_service()
    original = service.handle

    def counting(message: Any) -> None:
        handled[getattr(message, "report_id", "?")] += 1
        original(message)

    service.handle = counting  # type: ignore[method-assign]
    receives = 0
    try:
        for _ in range(max_receives + 1):
            messages = sqs.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=30
            ).get("Messages", [])
            if not messages:
                break
            receives += 1
            result = stack.handler("policy_evaluation").lambda_handler(
                stack.sqs_event("EvaluationQueue", messages), stack.context
            )
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            poison_ids = {m["MessageId"] for m in messages if m["Body"] == POISONS[poison]}
            assert failed == poison_ids, (failed, poison_ids)
            if receives == 1:
                assert len(messages) == 5
            for message in messages:  # what the event source mapping does with the response
                if message["MessageId"] in failed:
                    sqs.change_message_visibility(
                        QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    finally:
        service.handle = original  # type: ignore[method-assign]

    assert receives == max_receives
    assert sqs.receive_message(QueueUrl=queue).get("Messages") is None
    dlq = sqs.receive_message(QueueUrl=stack.resources.queues["EvaluationDLQ"], MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dlq] == [POISONS[poison]]
    assert handled == {r["report_id"]: 1 for r in reports}  # each good message processed once
    stack.run_pipeline()
    for i, report in enumerate(reports):
        kinds = sorted(n["kind"] for n in stack.inbox(f"user-{i}"))
        assert kinds.count("receipt") == 1, (i, kinds)
        assert stack.report_view(report["report_id"], sub=f"user-{i}")["status"] == "action_taken"
    record_property("figure", f"{poison}: 1/5 failed x{receives} receives -> DLQ, 4 processed once")
