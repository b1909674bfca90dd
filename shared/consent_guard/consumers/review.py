"""Behind ScheduledReviewFunction: the scheduled run of the re-review, and the workers of busy DueIndex shards.

The schedule's event runs the re-review within the invocation's time; a shard with more due than one page is handed
to the shard queue (FIFO, one message group per shard: at most one worker per shard at a time, every shard in
parallel), whose messages invoke this function again, one shard each. A worker that runs out of time hands the rest
of its shard on with a cursor before it ends, so a backlog of any size drains in hops without ever overrunning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from functools import cache
from typing import Any

from consent_guard.config import review_settings
from consent_guard.messaging import QueuePublisher
from consent_guard.models.messages import ShardWork
from consent_guard.observability import LambdaContext, logger
from consent_guard.repository import CaseRepository
from consent_guard.services.review import ReReviewService
from consent_guard.sqs_batch import process_sqs_batch


@cache
def review_service() -> ReReviewService:
    settings = review_settings()
    return ReReviewService(
        CaseRepository(settings.table_name),
        QueuePublisher(settings.evaluation_queue_url),
        QueuePublisher(settings.effects_queue_url),
    )


@cache
def shard_queue() -> QueuePublisher:
    return QueuePublisher(review_settings().shard_queue_url)


def hand_off(work: ShardWork) -> None:
    """To the shard queue: one group per shard, deduplicated per run and hop (a repeated schedule event or a
    retried worker sends the same message id, which SQS drops within its five-minute window)."""
    shard_queue().send(work, group_id=f"shard-{work.shard}", deduplication_id=f"{work.run}:{work.shard}:{work.hop}")


def run_scheduled_review(event: Mapping[str, Any], context: LambdaContext) -> Mapping[str, Any]:
    if "Records" in event:
        return process_sqs_batch(event, lambda message_id, body: work_shard(message_id, body, context))
    run = str(event.get("time") or event.get("id") or "manual")[:64]
    logger.info("scheduled re-review started", event_id=event.get("id"), scheduled_time=event.get("time"))
    summary = review_service().run(
        context.get_remaining_time_in_millis, hand_off=lambda shard: hand_off(ShardWork(shard=shard, run=run))
    )
    return asdict(summary)


def work_shard(message_id: str, body: str, context: LambdaContext) -> None:
    work = ShardWork.model_validate_json(body)  # a poison message raises: retried, then dead-lettered
    logger.append_keys(message_id=message_id, shard=work.shard, run=work.run, hop=work.hop)
    summary, rest = review_service().run_shard(work.shard, context.get_remaining_time_in_millis, work.cursor)
    if rest is not None:
        # handed on before this message is deleted: if the send fails, the message is retried (acting is idempotent)
        hand_off(work.model_copy(update={"hop": work.hop + 1, "cursor": rest}))
    logger.info("shard worked", acted=summary.acted, handed_on=rest is not None)
