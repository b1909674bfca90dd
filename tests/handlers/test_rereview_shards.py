"""The re-review's parallel path on moto: a DueIndex shard with more due than one page is handed to a worker of its
own through the FIFO shard queue (events/scheduled_review/shard_work.json), a worker out of time hands the rest on
with a cursor, and every due timer is acted on exactly once across the hops."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from consent_guard.ids import shard_of
from consent_guard.models import items as it
from consent_guard.models.domain import Attestations, Category, Relationship, Report
from consent_guard.services.review import SAFETY_MARGIN_MS
from tests.conftest import FakeLambdaContext, load_event
from tests.handlers.conftest import Stack

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BUSY = 7  # the shard given more than a page of due timers
SHARD_QUEUE = "ReReviewShardQueue"


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _report_ids_in_shard(shard: int, count: int, prefix: str) -> list[str]:
    ids: list[str] = []
    n = 0
    while len(ids) < count:
        report_id = f"r_{prefix}{n:06d}"
        if shard_of(f"REPORT#{report_id}", it.DUE_SHARDS) == shard:
            ids.append(report_id)
        n += 1
    return ids


def _seed_due_reports(stack: Stack, report_ids: list[str]) -> None:
    """Reports accepted ten minutes ago and never evaluated: each one's stuck-work timer is due."""
    with stack.table().batch_writer() as batch:
        for report_id in report_ids:
            report = Report(
                report_id=report_id,
                case_id="c_" + report_id[2:],
                reporter_id=f"user-{report_id}",
                post_id=f"post-{report_id}",
                category=Category.PRIVATE_MEDIA,
                relationship=Relationship.SELF,
                attestations=Attestations(accurate_and_complete=True),
                submitted_at=T0 - timedelta(minutes=10),
            )
            batch.put_item(Item=it.report_to_item(report, T0 - timedelta(minutes=1)))


def _requeued(stack: Stack) -> list[str]:
    """The report ids re-queued for evaluation so far (drained from the queue)."""
    ids: list[str] = []
    sqs = stack.session.client("sqs")
    while messages := stack.receive("EvaluationQueue"):
        for message in messages:
            ids.append(json.loads(message["Body"])["report_id"])
            sqs.delete_message(
                QueueUrl=stack.resources.queues["EvaluationQueue"], ReceiptHandle=message["ReceiptHandle"]
            )
    return ids


@dataclass
class RunningOutContext(FakeLambdaContext):
    """A context whose time runs below the safety margin after `budget` looks at the clock."""

    budget: int = 0

    def get_remaining_time_in_millis(self) -> int:
        self.budget -= 1
        return 300_000 if self.budget >= 0 else SAFETY_MARGIN_MS - 1


def test_a_busy_shard_goes_to_its_own_worker_and_everything_due_is_acted_on_once(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    busy = _report_ids_in_shard(BUSY, 250, "busy")  # two and a half pages
    quiet = _report_ids_in_shard((BUSY + 1) % it.DUE_SHARDS, 3, "quiet")
    _seed_due_reports(stack, busy + quiet)

    summary = stack.scheduled_review()

    # the quiet shard is worked at once; the busy one is handed off, with one message in its shard's group
    assert summary["handed_off"] == [BUSY]
    assert summary["acted"] == {"report_stuck": 3}
    assert sorted(_requeued(stack)) == sorted(quiet)
    (message,) = stack.receive(SHARD_QUEUE)
    assert message["Attributes"]["MessageGroupId"] == f"shard-{BUSY}"
    assert json.loads(message["Body"]) == {
        "type": "shard_work",
        "shard": BUSY,
        "run": load_event("scheduled_review/scheduled.json")["time"],
        "hop": 0,
        "cursor": None,
    }

    # a repeated schedule event (EventBridge delivers at least once) hands off nothing new: deduplicated
    stack.scheduled_review()
    assert stack.depth(SHARD_QUEUE) == 1

    assert stack.deliver(SHARD_QUEUE, "scheduled_review") == 1
    assert sorted(_requeued(stack)) == sorted(busy)
    assert stack.depth(SHARD_QUEUE) == 0
    assert stack.scheduled_review()["acted"] == {}  # each timer moved on: nothing due twice


def test_a_worker_out_of_time_hands_the_rest_of_its_shard_on(stack: Stack, clock: time_machine.Coordinates) -> None:
    busy = _report_ids_in_shard(BUSY, 230, "hop")
    _seed_due_reports(stack, busy)
    assert stack.scheduled_review()["handed_off"] == [BUSY]

    stack.context = RunningOutContext(budget=60)  # about 60 timers' worth of time, then below the margin
    assert stack.deliver(SHARD_QUEUE, "scheduled_review", rounds=1) == 1
    first = _requeued(stack)
    assert 0 < len(first) < len(busy)
    (message,) = stack.receive(SHARD_QUEUE)
    handed_on = json.loads(message["Body"])
    assert handed_on["hop"] == 1 and handed_on["shard"] == BUSY and handed_on["cursor"]

    stack.context = FakeLambdaContext()
    assert stack.deliver(SHARD_QUEUE, "scheduled_review") == 1
    rest = _requeued(stack)
    assert sorted(first + rest) == sorted(busy)  # every timer once: none skipped, none twice


def test_a_poison_shard_message_fails_alone_and_is_left_for_the_dead_letter_queue(
    stack: Stack, clock: time_machine.Coordinates
) -> None:
    event = load_event("scheduled_review/shard_work.json")
    event["Records"][0]["body"] = '{"type": "shard_work", "shard": -1}'
    result = stack.handler("scheduled_review").lambda_handler(event, stack.context)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_the_shard_work_event_sam_invokes_runs_its_shard(stack: Stack, clock: time_machine.Coordinates) -> None:
    ids = _report_ids_in_shard(7, 2, "evt")
    _seed_due_reports(stack, ids)
    result = stack.handler("scheduled_review").lambda_handler(
        load_event("scheduled_review/shard_work.json"), stack.context
    )
    assert result == {"batchItemFailures": []}
    assert sorted(_requeued(stack)) == sorted(ids)
