"""Scheduled re-review: finds what is due through the sparse DueIndex (never a Scan) and acts on each timer
through a conditional write, so late, repeated or overlapping runs act once per timer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from consent_guard.clock import Clock, utc_now
from consent_guard.messaging import DeliveryFailed, QueuePublisher
from consent_guard.models import items as it
from consent_guard.models.messages import CaseReevaluation, ReportSubmitted
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.repository import CaseRepository

REQUEUE_BACKOFF = timedelta(minutes=5)
NEEDS_CONTEXT_RETRY = timedelta(minutes=15)
SAFETY_MARGIN_MS = 10_000  # stop with this much of the Lambda's time left; the rest waits for the next run


@dataclass
class RunSummary:
    timers_read: int = 0
    acted: dict[str, int] = field(default_factory=dict)
    skipped: int = 0  # another run acted first, or the kind is not due for action here
    stopped_early: bool = False

    def count(self, kind: str) -> None:
        self.acted[kind] = self.acted.get(kind, 0) + 1


class ReReviewService:
    def __init__(self, repository: CaseRepository, evaluation_queue: QueuePublisher, clock: Clock = utc_now) -> None:
        self.repository = repository
        self.evaluation_queue = evaluation_queue
        self.clock = clock
        self._handlers: dict[str, Callable[[dict[str, Any], RunSummary], None]] = {
            "report_stuck": self._requeue_stuck_report,
            "needs_context": self._retry_needs_context,
        }

    def run(self, remaining_ms: Callable[[], int] | None = None) -> RunSummary:
        now = self.clock()
        summary = RunSummary()
        for shard in range(it.DUE_SHARDS):
            cursor: dict[str, Any] | None = None
            while True:
                if remaining_ms is not None and remaining_ms() < SAFETY_MARGIN_MS:
                    summary.stopped_early = True
                    logger.warning("re-review stopped before the time limit; the rest waits", acted=summary.acted)
                    return summary
                page = self.repository.due_timers(shard, now, cursor)
                summary.timers_read += len(page.items)
                for timer in page.items:
                    handler = self._handlers.get(it.due_kind(timer["DSK"]))
                    if handler is None:
                        summary.skipped += 1
                        continue
                    handler(timer, summary)
                cursor = page.cursor
                if not cursor:
                    break
        metrics.add_metric(name="ReReviewTimersRead", unit=MetricUnit.Count, value=summary.timers_read)
        logger.info(
            "re-review run finished", timers_read=summary.timers_read, skipped=summary.skipped, acted=summary.acted
        )
        return summary

    def _requeue_stuck_report(self, timer: dict[str, Any], summary: RunSummary) -> None:
        key = {"PK": timer["PK"], "SK": timer["SK"]}
        report_id = timer["PK"].removeprefix("REPORT#")
        # claim the timer first (moving it forward): exactly one run re-queues, and a failed send is retried later
        if not self.repository.reschedule_timer(key, timer["DSK"], "report_stuck", self.clock() + REQUEUE_BACKOFF):
            summary.skipped += 1
            return
        try:
            self.evaluation_queue.send(ReportSubmitted(report_id=report_id))
        except DeliveryFailed as exc:
            logger.warning("stuck report not re-queued; next run retries", report_id=report_id, error=str(exc))
            return
        metrics.add_metric(name="StuckReportsRequeued", unit=MetricUnit.Count, value=1)
        logger.info("stuck report re-queued", report_id=report_id)
        summary.count("report_stuck")

    def _retry_needs_context(self, timer: dict[str, Any], summary: RunSummary) -> None:
        key = {"PK": timer["PK"], "SK": timer["SK"]}
        case_id = timer["PK"].removeprefix("CASE#")
        if not self.repository.reschedule_timer(key, timer["DSK"], "needs_context", self.clock() + NEEDS_CONTEXT_RETRY):
            summary.skipped += 1
            return
        try:
            self.evaluation_queue.send(CaseReevaluation(case_id=case_id, reason="needs_context_retry"))
        except DeliveryFailed as exc:
            logger.warning("re-evaluation not queued; next run retries", case_id=case_id, error=str(exc))
            return
        summary.count("needs_context")
