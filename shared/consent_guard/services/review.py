"""Scheduled re-review: finds what is due through the sparse DueIndex (never a Scan) and acts on each timer
through a conditional write, so late, repeated or overlapping runs act once per timer.

Timers (one per item, in the KEYS_ONLY, 64-way sharded DueIndex; the kind is in the sort key):

| kind | on | action when due |
|---|---|---|
| report_stuck | report | accepted but not evaluated after 5 min: re-queued (timer moved 5 min on first) |
| review_sla | case in review | past its review deadline: escalated once (priority 0, `escalated`), moderators told |
| first_person_wait | case awaiting the person depicted | no first-person report in time: closed, reporters told |
| needs_context | case waiting for the post's facts | re-evaluated every 15 min; after the limit sent to review |
| claim_expiry | case claimed by a moderator | claim lapsed: released (`assigned` event, `released`) |
| retention | decided or closed case | appeal window and retention passed: reports' personal data erased (`erased`) |
| strike_expiry | strike item | strike expired: `enforcement_lifted` on its case, `strike.expired` to the platform |
| outbox | outbox item | effects committed, not delivered in time (announcement lost, delivery failing): re-announced |

Acting is a conditional write on the item the timer belongs to: a version-guarded case change (which rewrites the
case's timer with it) or a conditional move of the timer read. What an action owes (the moderators' SLA notice,
the reporters' closure notices, `strike.expired` to the platform) is stored with its change as an outbox item and
delivered by the effects function, so nothing is half-done and every notice or event has a stable id. Timers of
the follow-up kinds used before the outbox (sla_notify, close_notify, strike_publish) are settled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from consent_guard.cases import check_move
from consent_guard.clock import Clock, utc_now
from consent_guard.errors import NotFound, StorageUnavailable, VersionConflict
from consent_guard.ids import digest, notification_id_for
from consent_guard.messaging import DeliveryFailed, EnforcementEvent, QueuePublisher
from consent_guard.models import items as it
from consent_guard.models.domain import (
    Case,
    CaseEvent,
    CaseFacts,
    CaseState,
    EventType,
    NotificationKind,
    Outcome,
)
from consent_guard.models.effects import Effect, OutboxReady
from consent_guard.models.messages import CaseReevaluation, NotificationRequest, ReportSubmitted
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import Policy, review_priority
from consent_guard.repository import CaseChange, CaseRepository
from consent_guard.repository.base import Page
from consent_guard.repository.outbox import OUTBOX_TIMER, outbox_id_of
from consent_guard.repository.timers import timer_position
from consent_guard.services.effects import (
    CaseWorkflow,
    case_outbox_id,
    enforcement_effect,
    notification_effect,
    reporters_effect,
)
from consent_guard.services.stats_effects import with_stats
from consent_guard.services.timers import (
    NEEDS_CONTEXT_RETRY,
    retention_due,
    sla_escalated,
    state_timer,
    with_timer,
)

REQUEUE_BACKOFF = timedelta(minutes=5)
SAFETY_MARGIN_MS = 10_000  # stop with this much of the Lambda's time left; the rest waits for the next run
RETENTION_POSTPONE = timedelta(days=1)  # an open appeal holds the erasure back; looked at again daily
ERASURE_LEASE = timedelta(minutes=15)  # an erasure in progress holds its timer this long (a cut-short run resumes)
MODERATORS = "group:moderators"  # the moderators' shared inbox (an account context of that id gives it an email)
ERASED = "erased"  # replaces the reporter's id (and an appellant's) once the retention period has passed
CLOSED_INSUFFICIENT = "insufficient_report"
OUTBOX_RETRY = timedelta(minutes=15)  # an overdue outbox is announced again at most this often


@dataclass
class RunSummary:
    """What one run did; returned by the scheduled function (and shown by `make demo`)."""

    timers_read: int = 0
    due: dict[str, int] = field(default_factory=dict)  # timers read, per kind
    acted: dict[str, int] = field(default_factory=dict)  # actions taken, per kind
    postponed: dict[str, int] = field(default_factory=dict)  # due, but held back (an open appeal)
    skipped: int = 0  # another run or a person acted first, or the state no longer calls for it (timer re-set)
    failed: int = 0  # a transient failure: the timer stays due, the next run retries
    notifications: int = 0  # notices stored with their change (a fan-out to a case's reporters counts once)
    enforcement_events: int = 0  # events to the platform stored with their change
    reports_erased: int = 0
    stopped_early: bool = False  # the time budget ran out; the rest waits for the next run
    handed_off: list[int] = field(default_factory=list)  # shards with more due than a page: each to its own worker

    def count(self, kind: str, bucket: str = "acted") -> None:
        counts: dict[str, int] = getattr(self, bucket)
        counts[kind] = counts.get(kind, 0) + 1


@dataclass
class _Run:
    now: datetime
    summary: RunSummary
    remaining_ms: Callable[[], int] | None

    def out_of_time(self) -> bool:
        if not self.summary.stopped_early and self.remaining_ms is not None:
            self.summary.stopped_early = self.remaining_ms() < SAFETY_MARGIN_MS
        return self.summary.stopped_early


Timer = dict[str, Any]


class ReReviewService(CaseWorkflow):
    def __init__(
        self,
        repository: CaseRepository,
        evaluation_queue: QueuePublisher,
        effects_queue: QueuePublisher,
        clock: Clock = utc_now,
        policy: Policy | None = None,
    ) -> None:
        super().__init__(repository, effects_queue, clock, policy)
        self.evaluation_queue = evaluation_queue
        self._handlers: dict[str, Callable[[Timer, _Run], None]] = {
            "report_stuck": self._requeue_stuck_report,
            "review_sla": self._review_sla,
            "first_person_wait": self._first_person_wait,
            "needs_context": self._needs_context,
            it.CLAIM_EXPIRY: self._claim_expiry,
            "retention": self._retention,
            it.STRIKE_EXPIRY: self._strike_expiry,
            OUTBOX_TIMER: self._outbox,
            "sla_notify": self._legacy_follow_up,
            "close_notify": self._legacy_follow_up,
            "strike_publish": self._legacy_strike_publish,
        }

    # ------------------------------------------------------------ the run

    def run(
        self, remaining_ms: Callable[[], int] | None = None, hand_off: Callable[[int], None] | None = None
    ) -> RunSummary:
        """Act on every timer due now, shard by shard and page by page, until done or out of time.

        With `hand_off` (the scheduled function's): a shard with more due than one page is handed to a worker of its
        own (`run_shard`, one invocation per busy shard, in parallel) instead of being worked here, so a backlog
        drains at the shards' combined pace, not one run's (docs/data-model.md). Reading a shard's first page is
        what the run does anyway, so the common case - little due - costs nothing more and is acted on at once."""
        run = _Run(now=self.clock(), summary=RunSummary(), remaining_ms=remaining_ms)
        for shard in range(it.DUE_SHARDS):
            if run.out_of_time():
                break
            page = self.repository.due_timers(shard, run.now)
            if page.cursor and hand_off is not None:
                hand_off(shard)
                run.summary.handed_off.append(shard)
                continue
            self._drain(shard, run, page)
        return self._finish(run)

    def run_shard(
        self, shard: int, remaining_ms: Callable[[], int] | None = None, cursor: dict[str, Any] | None = None
    ) -> tuple[RunSummary, dict[str, Any] | None]:
        """One DueIndex shard's worker: act on what is due in `shard` from `cursor` on, until done or out of time.
        Returns what it did and, when it stopped early, where the next worker goes on from (None when done)."""
        run = _Run(now=self.clock(), summary=RunSummary(), remaining_ms=remaining_ms)
        rest = self._drain(shard, run, self.repository.due_timers(shard, run.now, cursor), cursor)
        return self._finish(run, shard), rest

    def _drain(self, shard: int, run: _Run, page: Page, start: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Work `page` (read from `start`) and the shard's pages after it. Returns None when the shard is done, or
        if time ran out the position to go on from: the key of the last timer handled, as a page ending there
        would give it (DynamoDB takes it as ExclusiveStartKey whether or not that timer has moved on since)."""
        while True:
            run.summary.timers_read += len(page.items)
            for n, timer in enumerate(page.items):
                if run.out_of_time():
                    return timer_position(page.items[n - 1]) if n else start
                self._act(timer, run)
            if not page.cursor:
                return None
            start = dict(page.cursor)
            if run.out_of_time():
                return start
            page = self.repository.due_timers(shard, run.now, start)

    def _finish(self, run: _Run, shard: int | None = None) -> RunSummary:
        summary = run.summary
        if summary.stopped_early:
            logger.warning("re-review stopped before the time limit; the rest waits", acted=summary.acted, shard=shard)
        metrics.add_metric(name="ReReviewTimersRead", unit=MetricUnit.Count, value=summary.timers_read)
        for kind, n in summary.acted.items():
            metrics.add_metric(name=f"ReReview_{kind}", unit=MetricUnit.Count, value=n)
        if summary.failed:
            metrics.add_metric(name="ReReviewFailed", unit=MetricUnit.Count, value=summary.failed)
        if summary.handed_off:
            metrics.add_metric(name="ReReviewShardsHandedOff", unit=MetricUnit.Count, value=len(summary.handed_off))
        logger.info(
            "re-review run finished",
            shard=shard,
            timers_read=summary.timers_read,
            due=summary.due,
            acted=summary.acted,
            postponed=summary.postponed,
            skipped=summary.skipped,
            failed=summary.failed,
            handed_off=summary.handed_off,
            stopped_early=summary.stopped_early,
        )
        return summary

    def _act(self, timer: Timer, run: _Run) -> None:
        kind = it.due_kind(timer["DSK"])
        run.summary.count(kind, "due")
        handler = self._handlers.get(kind)
        if handler is None:
            logger.warning("timer of an unknown kind left alone", kind=kind)
            run.summary.skipped += 1
            return
        try:
            handler(timer, run)
        except VersionConflict:
            # someone changed the item between our read and our write; their write re-set its timer
            run.summary.skipped += 1
        except (StorageUnavailable, DeliveryFailed) as exc:
            run.summary.failed += 1
            logger.warning("timer left for the next run", kind=kind, error=str(exc))
        except Exception:
            # one bad item must not hold back everything due after it: it stays due and is retried next run
            run.summary.failed += 1
            logger.exception("timer failed; left for the next run", kind=kind, pk=timer["PK"])

    # ------------------------------------------------------------ helpers

    def _owner_case(self, timer: Timer) -> Case | None:
        """The case a timer belongs to, if the timer read is still its current one (else another run acted, or the
        case changed and its write re-set the timer: nothing to do)."""
        try:
            case = self.repository.get_case(timer["PK"].removeprefix("CASE#"))
        except NotFound:
            return None
        return case if it.case_to_item(case).get("DSK") == timer["DSK"] else None

    def _settle(self, case: Case, timer: Timer, run: _Run) -> None:
        """The timer fired but the case's state no longer calls for the action: give it the timer it calls for."""
        due = state_timer(case, self.clock(), self.policy)
        settled = case.model_copy(update={"due_kind": due[0] if due else None, "due_at": due[1] if due else None})
        self.repository.set_case_timer(settled, timer["DSK"])
        run.summary.skipped += 1

    def _with_state_timer(self, case: Case) -> Case:
        due = state_timer(case, self.clock(), self.policy)
        return case.model_copy(update={"due_kind": due[0] if due else None, "due_at": due[1] if due else None})

    def _save(
        self,
        case: Case,
        updated: Case,
        event_type: EventType,
        data: dict[str, object],
        effects: Sequence[Effect] = (),
    ) -> None:
        event = CaseEvent(
            case_id=case.case_id, seq=updated.version, type=event_type, at=updated.updated_at, actor="system", data=data
        )
        self.save(
            CaseChange(
                case=updated, expected_version=case.version, events=[event], outbox=self.outbox(updated, effects)
            ),
            before=case,
        )

    # ------------------------------------------------------------ the outbox's safety net

    def _outbox(self, timer: Timer, run: _Run) -> None:
        """Effects committed but not delivered in time: announced again (the timer moves on first, so one run
        announces; if the announcement fails too, the next run tries again)."""
        key = {"PK": timer["PK"], "SK": timer["SK"]}
        if not self.repository.reschedule_timer(key, timer["DSK"], OUTBOX_TIMER, self.clock() + OUTBOX_RETRY):
            run.summary.skipped += 1
            return
        self.announcer.effects_queue.send(OutboxReady(outbox_id=outbox_id_of(timer["PK"])))
        metrics.add_metric(name="OutboxOverdue", unit=MetricUnit.Count, value=1)
        logger.warning("outbox overdue; announced again", outbox_id=outbox_id_of(timer["PK"]))
        run.summary.count(OUTBOX_TIMER)

    def _legacy_follow_up(self, timer: Timer, run: _Run) -> None:
        case = self._owner_case(timer)
        if case is None:
            run.summary.skipped += 1
            return
        self._settle(case, timer, run)

    def _legacy_strike_publish(self, timer: Timer, run: _Run) -> None:
        self.repository.reschedule_timer({"PK": timer["PK"], "SK": timer["SK"]}, timer["DSK"], "strike_publish", None)
        run.summary.skipped += 1

    # ------------------------------------------------------------ stuck work

    def _requeue_stuck_report(self, timer: Timer, run: _Run) -> None:
        key = {"PK": timer["PK"], "SK": timer["SK"]}
        report_id = timer["PK"].removeprefix("REPORT#")
        # claim the timer first (moving it forward): exactly one run re-queues, and a failed send is retried later
        if not self.repository.reschedule_timer(key, timer["DSK"], "report_stuck", self.clock() + REQUEUE_BACKOFF):
            run.summary.skipped += 1
            return
        self.evaluation_queue.send(ReportSubmitted(report_id=report_id))
        metrics.add_metric(name="StuckReportsRequeued", unit=MetricUnit.Count, value=1)
        logger.info("stuck report re-queued", report_id=report_id)
        run.summary.count("report_stuck")

    # ------------------------------------------------------------ review SLA

    def _review_sla(self, timer: Timer, run: _Run) -> None:
        case = self._owner_case(timer)
        if case is None:
            run.summary.skipped += 1
            return
        at = self.clock()
        due = case.review_due_at
        if case.state != CaseState.IN_REVIEW or due is None or due > at or sla_escalated(case):
            self._settle(case, timer, run)
            return
        updated = self._with_state_timer(
            case.model_copy(
                update={
                    "version": case.version + 1,
                    "updated_at": at,
                    "review_priority": 0,  # the head of the review queue (its sort key is priority, then age)
                    "escalated_at": at,
                }
            )
        )
        self._save(
            case,
            updated,
            EventType.ESCALATED,
            {
                "reason": "review_sla",
                "review_due_at": it.iso(due),
                "priority_before": case.review_priority,
                "priority": 0,
            },
            [self._sla_notice(updated)],
        )
        logger.info("review deadline passed; case escalated", case_id=case.case_id)
        run.summary.count("review_sla")
        run.summary.notifications += 1

    def _sla_notice(self, case: Case) -> Effect:
        assert case.escalated_at is not None
        event_id = f"{case.case_id}:sla_breach@{it.iso(case.escalated_at)}"
        kind = NotificationKind.SLA_BREACH
        return notification_effect(
            NotificationRequest(
                notification_id=notification_id_for(event_id, MODERATORS, kind),
                kind=kind,
                recipient_id=MODERATORS,
                case_id=case.case_id,
                event_id=event_id,
                facts=self.effects.facts_for(
                    case, review_due_at=it.iso(case.review_due_at) if case.review_due_at else None
                ),
            )
        )

    # ------------------------------------------------------------ waiting for the person depicted

    def _first_person_wait(self, timer: Timer, run: _Run) -> None:
        case = self._owner_case(timer)
        if case is None:
            run.summary.skipped += 1
            return
        at = self.clock()
        due = state_timer(case, at, self.policy)
        if case.state != CaseState.AWAITING_FIRST_PERSON or due is None or due[1] > at:
            self._settle(case, timer, run)
            return
        check_move(case.state, CaseState.CLOSED)
        updated = self._with_state_timer(
            case.model_copy(
                update={
                    "state": CaseState.CLOSED,
                    "version": case.version + 1,
                    "updated_at": at,
                    "closed_at": at,
                    "closed_reason": CLOSED_INSUFFICIENT,
                    "waiting_since": None,
                }
            )
        )
        # every reporter is told, page by page (a fan-out of the effects function)
        notices = reporters_effect(
            updated,
            NotificationKind.CASE_CLOSED,
            f"{case.case_id}:closed@{it.iso(at)}",
            {**self.effects.reporter_facts(updated), "reason": CLOSED_INSUFFICIENT},  # reporters: need to know
        )
        self._save(
            case,
            updated,
            EventType.CLOSED,
            {
                "reason": CLOSED_INSUFFICIENT,
                "from_state": case.state.value,
                "waited_days": self.policy.first_person_wait_days,
                "rule_ids": list(case.decision.rule_ids) if case.decision else [],
            },
            [notices],
        )
        logger.info("no first-person report in time; case closed", case_id=case.case_id)
        run.summary.count("first_person_wait")
        run.summary.notifications += 1

    # ------------------------------------------------------------ waiting for the post's facts

    def _needs_context(self, timer: Timer, run: _Run) -> None:
        case = self._owner_case(timer)
        if case is None:
            run.summary.skipped += 1
            return
        if case.state != CaseState.NEEDS_CONTEXT:
            self._settle(case, timer, run)
            return
        at = self.clock()
        limit = (case.waiting_since or case.created_at) + timedelta(hours=self.policy.needs_context_limit_hours)
        if at >= limit:
            self._send_to_review(case, at, run)
            return
        retry = case.model_copy(update={"due_kind": "needs_context", "due_at": min(at + NEEDS_CONTEXT_RETRY, limit)})
        # move the timer first: exactly one run re-queues, and a failed send is retried at the next due time
        if not self.repository.set_case_timer(retry, timer["DSK"]):
            run.summary.skipped += 1
            return
        self.evaluation_queue.send(CaseReevaluation(case_id=case.case_id, reason="needs_context_retry"))
        run.summary.count("needs_context")

    def _send_to_review(self, case: Case, at: datetime, run: _Run) -> None:
        """Waited the policy's limit for the post's facts: a moderator reviews the case, at the priority and SLA of
        the policy's review tiers."""
        hours = self.policy.needs_context_limit_hours
        facts = CaseFacts(case_id=case.case_id, category=case.category, reports=case.key_reports, now=at)
        priority, sla_hours = review_priority(facts, self.policy)
        decision = (
            case.decision.model_copy(
                update={
                    "outcome": Outcome.NEEDS_REVIEW,
                    "review_priority": priority,
                    "review_sla_hours": sla_hours,
                    "reasons": (
                        *case.decision.reasons,
                        f"The post's facts did not arrive within {hours} hours: a moderator reviews the case.",
                    ),
                }
            )
            if case.decision
            else None
        )
        check_move(case.state, CaseState.IN_REVIEW)
        updated = case.model_copy(
            update={
                "state": CaseState.IN_REVIEW,
                "version": case.version + 1,
                "updated_at": at,
                "decision": decision,
                "review_priority": priority,
                "review_due_at": at + timedelta(hours=sla_hours),
                "queued_at": at,
            }
        )
        updated = with_timer(updated, case, at, self.policy)
        self._save(
            case,
            updated,
            EventType.ESCALATED,
            {
                "reason": "needs_context_limit",
                "from_state": case.state.value,
                "to_state": CaseState.IN_REVIEW.value,
                "waited_hours": hours,
                "review_priority": priority,
                "review_sla_hours": sla_hours,
                "rule_ids": list(decision.rule_ids) if decision else [],
            },
        )
        logger.info("post facts missing past the limit; case sent to review", case_id=case.case_id)
        run.summary.count("needs_context_limit")

    # ------------------------------------------------------------ claims

    def _claim_expiry(self, timer: Timer, run: _Run) -> None:
        case = self._owner_case(timer)
        if case is None:
            run.summary.skipped += 1
            return
        at = self.clock()
        if not (case.claimed_by and case.claim_expires_at and case.claim_expires_at <= at):
            run.summary.skipped += 1
            return
        updated = case.model_copy(
            update={"version": case.version + 1, "updated_at": at, "claimed_by": None, "claim_expires_at": None}
        )
        self._save(
            case,
            updated,
            EventType.ASSIGNED,
            {
                "released": True,
                "reason": "claim_expired",
                "claimed_by": case.claimed_by,
                "claim_expires_at": it.iso(case.claim_expires_at),
            },
        )
        logger.info("claim lapsed; case released", case_id=case.case_id)
        run.summary.count(it.CLAIM_EXPIRY)

    # ------------------------------------------------------------ strikes

    def _strike_expiry(self, timer: Timer, run: _Run) -> None:
        account_id = timer["PK"].removeprefix("ACCOUNT#")
        case_id = timer["SK"].removeprefix("STRIKE#")
        item = self.repository.strike_record(account_id, case_id)
        if item is None or item.get("DSK") != timer["DSK"]:
            run.summary.skipped += 1
            return
        key = it.strike_key(account_id, case_id)
        strike = it.strike_from_item(item)
        at = self.clock()
        if strike.expires_at > at:
            self.repository.reschedule_timer(key, timer["DSK"], it.STRIKE_EXPIRY, strike.expires_at)
            run.summary.skipped += 1
            return
        try:
            case = self.repository.get_case(case_id)
        except NotFound:
            self.repository.reschedule_timer(key, timer["DSK"], it.STRIKE_EXPIRY, None)
            run.summary.skipped += 1
            return
        updated = case.model_copy(update={"version": case.version + 1, "updated_at": at})
        event = CaseEvent(
            case_id=case_id,
            seq=updated.version,
            type=EventType.ENFORCEMENT_LIFTED,
            at=at,
            actor="system",
            data={
                "reason": "strike_expired",
                "strike": True,
                "measures": [],
                "account_id": account_id,
                "rule_id": strike.rule_id,
                "issued_at": it.iso(strike.issued_at),
                "expires_at": it.iso(strike.expires_at),
            },
        )
        # `strike.expired` to the platform (stable id: the platform drops a repeat) is stored with the expiry
        notice = enforcement_effect(
            EnforcementEvent(
                event_id=f"{case_id}:{updated.version}:strike.expired",
                action="strike.expired",
                case_id=case_id,
                post_id=case.post_id,
                account_id=account_id,
                rule_ids=(strike.rule_id,),
                policy_version=case.decision.policy_version if case.decision else self.policy.version,
                at=it.iso(at),
            )
        )
        change = CaseChange(
            case=updated,
            expected_version=case.version,
            events=[event],
            outbox=self.outbox(updated, [notice]),
            before=case,
        )
        change = with_stats(change, case, case_outbox_id(updated))  # the expiry counted (services/stats_effects.py)
        if not self.repository.expire_strike(change, account_id, timer["DSK"], updated.version):
            run.summary.skipped += 1
            return
        assert change.outbox is not None
        self.announcer.announce(change.outbox)
        logger.info("strike expired", case_id=case_id)
        run.summary.count(it.STRIKE_EXPIRY)
        run.summary.enforcement_events += 1

    # ------------------------------------------------------------ retention

    def _retention(self, timer: Timer, run: _Run) -> None:
        case = self._owner_case(timer)
        if case is None:
            run.summary.skipped += 1
            return
        at = self.clock()
        due = retention_due(case, self.policy)
        if due is None or due > at or case.state not in (CaseState.ACTIONED, CaseState.DISMISSED, CaseState.CLOSED):
            if case.state == CaseState.APPEALED and due is not None and due <= at:
                # an open appeal still needs the reports: looked at again later (its decision also re-sets the timer)
                later = case.model_copy(update={"due_kind": "retention", "due_at": at + RETENTION_POSTPONE})
                if self.repository.set_case_timer(later, timer["DSK"]):
                    run.summary.count("retention", "postponed")
                    return
                run.summary.skipped += 1
                return
            self._settle(case, timer, run)
            return
        # hold the timer while erasing (an overlapping run leaves it alone; a run cut short resumes after the lease)
        leased = case.model_copy(update={"due_kind": "retention", "due_at": at + ERASURE_LEASE})
        if not self.repository.set_case_timer(leased, timer["DSK"]):
            run.summary.skipped += 1
            return
        reports = self.repository.case_reports(case.case_id)
        for report in reports:
            if report.erased_at is not None:
                continue
            if run.out_of_time():
                logger.info("erasure paused; the next run resumes it", case_id=case.case_id)
                return
            fingerprint = digest("report", report.reporter_id, report.post_id, report.category)
            if self.repository.erase_report(report, fingerprint, at, ERASED):
                run.summary.reports_erased += 1
        for stored, redacted in redactions(self.repository.case_event_items(case.case_id)):
            self.repository.redact_events(stored, redacted)
        updated = leased.model_copy(
            update={
                "version": case.version + 1,
                "updated_at": at,
                "erased_at": at,
                "key_reports": tuple(
                    r.model_copy(update={"reporter_id": ERASED, "represented_account_id": None})
                    for r in case.key_reports
                ),
                "due_kind": None,
                "due_at": None,
            }
        )
        self._save(
            case,
            updated,
            EventType.ERASED,
            {"reason": "retention", "retention_due": it.iso(due), "reports": len(reports)},
        )
        logger.info("personal data of the case's reports erased", case_id=case.case_id, reports=len(reports))
        run.summary.count("retention")


def redactions(items: Sequence[Sequence[CaseEvent]]) -> list[tuple[list[CaseEvent], list[CaseEvent]]]:
    """The stored event items erasure must rewrite, each as (as read, redacted): any item with an event that
    holds personal data, wherever it sits in the item."""
    out = []
    for stored in items:
        redacted = [_redacted(event) for event in stored]
        if redacted != list(stored):
            out.append((list(stored), redacted))
    return out


def _redacted(event: CaseEvent) -> CaseEvent:
    """A case event without personal data: free-text notes dropped, an appellant's id replaced."""
    data = dict(event.data)
    if data.get("note"):
        data["note"] = None
    actor = event.actor
    if event.type == EventType.APPEALED and actor not in ("system", "platform", ERASED):
        actor = ERASED
    return event.model_copy(update={"data": data, "actor": actor})
