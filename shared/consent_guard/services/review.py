"""Scheduled re-review: finds what is due through the sparse DueIndex (never a Scan) and acts on each timer
through a conditional write, so late, repeated or overlapping runs act once per timer.

Timers (one per item, in the KEYS_ONLY, 8-way sharded DueIndex; the kind is in the sort key):

| kind | on | action when due |
|---|---|---|
| report_stuck | report | accepted but not evaluated after 5 min: re-queued (timer moved 5 min on first) |
| review_sla | case in review | past its review deadline: escalated once (priority 0, `escalated`), moderators told |
| first_person_wait | case awaiting the person depicted | no first-person report in time: closed, reporters told |
| needs_context | case waiting for the post's facts | re-evaluated every 15 min; after the limit sent to review |
| claim_expiry | case claimed by a moderator | claim lapsed: released (`assigned` event, `released`) |
| retention | decided or closed case | appeal window and retention passed: reports' personal data erased (`erased`) |
| strike_expiry | strike item | strike expired: `enforcement_lifted` on its case, `strike.expired` to the platform |
| sla_notify, close_notify, strike_publish | case, strike | a follow-up: what an action still owes to be sent |

Acting is a conditional write on the item the timer belongs to: a version-guarded case change (which rewrites the
case's timer with it) or a conditional move of the timer read. An action that owes a notice or an event stores a
follow-up timer in the same write, sends, then clears it: a run that fails or stops between the two leaves a due
follow-up, so nothing is half-done, and every notice or event has a stable id, so a repeat is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from consent_guard.cases import check_move
from consent_guard.clock import Clock, utc_now
from consent_guard.errors import NotFound, StorageUnavailable, VersionConflict
from consent_guard.ids import digest, notification_id_for
from consent_guard.messaging import DeliveryFailed, EnforcementEvent, EnforcementPublisher, QueuePublisher
from consent_guard.models import items as it
from consent_guard.models.domain import (
    Case,
    CaseEvent,
    CaseFacts,
    CaseState,
    EventType,
    NotificationKind,
    Outcome,
    Strike,
)
from consent_guard.models.messages import CaseReevaluation, NotificationRequest, ReportSubmitted
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import Policy, load_policy, review_priority
from consent_guard.repository import CaseChange, CaseRepository
from consent_guard.services.effects import Effects, Outbox, dedupe
from consent_guard.services.evaluation import (
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


@dataclass
class RunSummary:
    """What one run did; returned by the scheduled function (and shown by `make demo`)."""

    timers_read: int = 0
    due: dict[str, int] = field(default_factory=dict)  # timers read, per kind
    acted: dict[str, int] = field(default_factory=dict)  # actions taken, per kind
    postponed: dict[str, int] = field(default_factory=dict)  # due, but held back (an open appeal)
    skipped: int = 0  # another run or a person acted first, or the state no longer calls for it (timer re-set)
    failed: int = 0  # a transient failure: the timer stays due, the next run retries
    notifications: int = 0  # notification requests queued
    enforcement_events: int = 0  # events published to the platform
    reports_erased: int = 0
    stopped_early: bool = False  # the time budget ran out; the rest waits for the next run

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


class ReReviewService:
    def __init__(
        self,
        repository: CaseRepository,
        evaluation_queue: QueuePublisher,
        notifications: QueuePublisher,
        enforcement: EnforcementPublisher,
        clock: Clock = utc_now,
        policy: Policy | None = None,
    ) -> None:
        self.repository = repository
        self.evaluation_queue = evaluation_queue
        self.clock = clock
        self.policy = policy or load_policy()
        self.effects = Effects(repository, notifications, enforcement, self.policy)
        self._handlers: dict[str, Callable[[Timer, _Run], None]] = {
            "report_stuck": self._requeue_stuck_report,
            "review_sla": self._review_sla,
            "first_person_wait": self._first_person_wait,
            "needs_context": self._needs_context,
            it.CLAIM_EXPIRY: self._claim_expiry,
            "retention": self._retention,
            it.STRIKE_EXPIRY: self._strike_expiry,
            "sla_notify": self._sla_notify,
            "close_notify": self._close_notify,
            "strike_publish": self._strike_publish,
        }

    # ------------------------------------------------------------ the run

    def run(self, remaining_ms: Callable[[], int] | None = None) -> RunSummary:
        """Act on every timer due now, shard by shard and page by page, until done or out of time."""
        run = _Run(now=self.clock(), summary=RunSummary(), remaining_ms=remaining_ms)
        summary = run.summary
        for shard in range(it.DUE_SHARDS):
            cursor: dict[str, Any] | None = None
            while not run.out_of_time():
                page = self.repository.due_timers(shard, run.now, cursor)
                summary.timers_read += len(page.items)
                for timer in page.items:
                    if run.out_of_time():
                        break
                    self._act(timer, run)
                cursor = page.cursor
                if not cursor or run.summary.stopped_early:
                    break
            if summary.stopped_early:
                logger.warning("re-review stopped before the time limit; the rest waits", acted=summary.acted)
                break
        metrics.add_metric(name="ReReviewTimersRead", unit=MetricUnit.Count, value=summary.timers_read)
        for kind, n in summary.acted.items():
            metrics.add_metric(name=f"ReReview_{kind}", unit=MetricUnit.Count, value=n)
        if summary.failed:
            metrics.add_metric(name="ReReviewFailed", unit=MetricUnit.Count, value=summary.failed)
        logger.info(
            "re-review run finished",
            timers_read=summary.timers_read,
            due=summary.due,
            acted=summary.acted,
            postponed=summary.postponed,
            skipped=summary.skipped,
            failed=summary.failed,
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

    def _follow_up_done(self, case: Case) -> None:
        """A follow-up was sent: the case gets the timer its state calls for. If the case changed meanwhile its
        follow-up may still be due: the next run sends it again (same ids) and clears it."""
        due = state_timer(case, self.clock(), self.policy)
        settled = case.model_copy(update={"due_kind": due[0] if due else None, "due_at": due[1] if due else None})
        self.repository.set_case_timer(settled, it.case_to_item(case)["DSK"])

    def _save(self, case: Case, updated: Case, event_type: EventType, data: dict[str, object]) -> None:
        event = CaseEvent(
            case_id=case.case_id, seq=updated.version, type=event_type, at=updated.updated_at, actor="system", data=data
        )
        self.repository.save_case_change(CaseChange(case=updated, expected_version=case.version, events=[event]))

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
        updated = case.model_copy(
            update={
                "version": case.version + 1,
                "updated_at": at,
                "review_priority": 0,  # the head of the review queue (its sort key is priority, then age)
                "escalated_at": at,
                "due_kind": "sla_notify",
                "due_at": at,
            }
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
        )
        logger.info("review deadline passed; case escalated", case_id=case.case_id)
        run.summary.count("review_sla")
        self._send_sla_notice(updated, run)

    def _sla_notify(self, timer: Timer, run: _Run) -> None:
        case = self._owner_case(timer)
        if case is None:
            run.summary.skipped += 1
            return
        if case.state != CaseState.IN_REVIEW or case.escalated_at is None:
            self._settle(case, timer, run)  # decided meanwhile: the notice is moot
            return
        self._send_sla_notice(case, run)
        run.summary.count("sla_notify")

    def _send_sla_notice(self, case: Case, run: _Run) -> None:
        assert case.escalated_at is not None
        event_id = f"{case.case_id}:sla_breach@{it.iso(case.escalated_at)}"
        kind = NotificationKind.SLA_BREACH
        notice = NotificationRequest(
            notification_id=notification_id_for(event_id, MODERATORS, kind),
            kind=kind,
            recipient_id=MODERATORS,
            case_id=case.case_id,
            event_id=event_id,
            facts=self.effects.facts_for(
                case, review_due_at=it.iso(case.review_due_at) if case.review_due_at else None
            ),
        )
        self.effects.send(Outbox(notifications=[notice]))
        run.summary.notifications += 1
        self._follow_up_done(case)

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
        updated = case.model_copy(
            update={
                "state": CaseState.CLOSED,
                "version": case.version + 1,
                "updated_at": at,
                "closed_at": at,
                "closed_reason": CLOSED_INSUFFICIENT,
                "waiting_since": None,
                "due_kind": "close_notify",
                "due_at": at,
            }
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
        )
        logger.info("no first-person report in time; case closed", case_id=case.case_id)
        run.summary.count("first_person_wait")
        self._send_closure_notices(updated, run)

    def _close_notify(self, timer: Timer, run: _Run) -> None:
        case = self._owner_case(timer)
        if case is None:
            run.summary.skipped += 1
            return
        if case.state != CaseState.CLOSED or case.closed_at is None:
            self._settle(case, timer, run)
            return
        self._send_closure_notices(case, run)
        run.summary.count("close_notify")

    def _send_closure_notices(self, case: Case, run: _Run) -> None:
        assert case.closed_at is not None
        event_id = f"{case.case_id}:closed@{it.iso(case.closed_at)}"
        kind = NotificationKind.CASE_CLOSED
        facts = {**self.effects.reporter_facts(case), "reason": case.closed_reason}  # reporters: need to know
        outbox = Outbox(
            notifications=[
                NotificationRequest(
                    notification_id=notification_id_for(event_id, report.reporter_id, kind),
                    kind=kind,
                    recipient_id=report.reporter_id,
                    case_id=case.case_id,
                    report_id=report.report_id,
                    event_id=event_id,
                    locale=report.locale,
                    facts=facts,
                )
                for report in self.repository.case_reports(case.case_id)
                if report.erased_at is None
            ]
        )
        self.effects.send(dedupe(outbox))
        run.summary.notifications += len(outbox.notifications)
        self._follow_up_done(case)

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
        change = CaseChange(case=updated, expected_version=case.version, events=[event])
        if not self.repository.expire_strike(change, account_id, timer["DSK"], updated.version, at):
            run.summary.skipped += 1
            return
        logger.info("strike expired", case_id=case_id)
        run.summary.count(it.STRIKE_EXPIRY)
        publish_dsk = it.due_attributes("strike_publish", key["PK"], at)["DSK"]
        self._publish_strike_expiry(account_id, strike, updated, updated.version, at, publish_dsk, run)

    def _strike_publish(self, timer: Timer, run: _Run) -> None:
        account_id = timer["PK"].removeprefix("ACCOUNT#")
        case_id = timer["SK"].removeprefix("STRIKE#")
        item = self.repository.strike_record(account_id, case_id)
        if item is None or item.get("DSK") != timer["DSK"] or "lifted_seq" not in item:
            run.summary.skipped += 1
            return
        try:
            case = self.repository.get_case(case_id)
        except NotFound:
            self.repository.reschedule_timer(it.strike_key(account_id, case_id), timer["DSK"], "strike_publish", None)
            run.summary.skipped += 1
            return
        strike = it.strike_from_item(item)
        expired_at = it.parse_time(item["expired_at"])
        self._publish_strike_expiry(account_id, strike, case, int(item["lifted_seq"]), expired_at, timer["DSK"], run)
        run.summary.count("strike_publish")

    def _publish_strike_expiry(
        self, account_id: str, strike: Strike, case: Case, seq: int, at: datetime, dsk: str, run: _Run
    ) -> None:
        """`strike.expired` to the platform (stable id: the platform drops a repeat), then the strike's timer goes.
        The strike item stays as history; the ladder ignores expired strikes."""
        event = EnforcementEvent(
            event_id=f"{case.case_id}:{seq}:strike.expired",
            action="strike.expired",
            case_id=case.case_id,
            post_id=case.post_id,
            account_id=account_id,
            rule_ids=(strike.rule_id,),
            policy_version=case.decision.policy_version if case.decision else self.policy.version,
            at=it.iso(at),
        )
        self.effects.send(Outbox(enforcement=[event]))
        run.summary.enforcement_events += 1
        self.repository.reschedule_timer(it.strike_key(account_id, case.case_id), dsk, "strike_publish", None)

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
        for event in self.repository.case_events(case.case_id):
            redacted = _redacted(event)
            if redacted != event:
                self.repository.redact_event(redacted)
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


def _redacted(event: CaseEvent) -> CaseEvent:
    """A case event without personal data: free-text notes dropped, an appellant's id replaced."""
    data = dict(event.data)
    if data.get("note"):
        data["note"] = None
    actor = event.actor
    if event.type == EventType.APPEALED and actor not in ("system", "platform", ERASED):
        actor = ERASED
    return event.model_copy(update={"data": data, "actor": actor})
