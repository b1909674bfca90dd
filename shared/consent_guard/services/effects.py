"""What a case change owes the world once it is stored: notifications to reporters and the author, and
enforcement events to the platform. Everything is derived from the stored case, with stable ids, so a retry can
derive and send it again without anyone hearing twice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from consent_guard.cases import check_move
from consent_guard.clock import Clock, utc_now
from consent_guard.ids import notification_id_for
from consent_guard.messaging import EnforcementEvent, EnforcementPublisher, QueuePublisher
from consent_guard.models.domain import (
    Case,
    CaseEvent,
    CaseState,
    Enforcement,
    EventType,
    NotificationKind,
    Relationship,
    Report,
)
from consent_guard.models.items import iso
from consent_guard.models.messages import NotificationRequest
from consent_guard.policy import (
    Policy,
    load_policy,
    missing_confirmations,
    reporter_rule_ids,
    reporter_statement,
)
from consent_guard.repository import CaseChange, CaseRepository

# What each enforcement level does on the platform, and what undoes it.
MEASURES: dict[Enforcement, tuple[str, ...]] = {
    Enforcement.HIDE_CONTENT: ("content.hide",),
    Enforcement.REQUIRE_REMOVAL: ("content.hide", "account.lock"),
    Enforcement.PERMANENT_SUSPENSION: ("content.hide", "account.suspend"),
    Enforcement.NONE: (),
}
UNDO = {"content.hide": "content.restore", "account.lock": "account.unlock", "account.suspend": "account.reinstate"}
DECIDED_STATES = (CaseState.ACTIONED, CaseState.DISMISSED)

Facts = dict[str, str | int | bool | list[str] | None]


@dataclass
class Outbox:
    """What to send once the case change is stored."""

    notifications: list[NotificationRequest] = field(default_factory=list)
    enforcement: list[EnforcementEvent] = field(default_factory=list)
    enforcement_of: tuple[str, int] | None = None  # (case_id, seq) whose enforcement events these are

    def extend(self, other: Outbox) -> None:
        self.notifications.extend(other.notifications)
        self.enforcement.extend(other.enforcement)


class Effects:
    def __init__(
        self,
        repository: CaseRepository,
        notifications: QueuePublisher,
        enforcement: EnforcementPublisher,
        policy: Policy,
    ) -> None:
        self.repository = repository
        self.notifications = notifications
        self.enforcement = enforcement
        self.policy = policy

    # ------------------------------------------------------------ building blocks

    @staticmethod
    def decision_event_id(case: Case) -> str:
        return f"{case.case_id}@{iso(case.decided_at or case.updated_at)}"

    def facts_for(self, case: Case, **extra: str | int | bool | list[str] | None) -> Facts:
        """The non-personal facts a notification about this case may use."""
        decision = case.decision
        appeal_deadline = (
            iso(case.decided_at + timedelta(days=self.policy.appeal_window_days)) if case.decided_at else None
        )
        facts: Facts = {
            "case_id": case.case_id,
            "post_id": case.post_id,
            "category": case.category.value,
            "state": case.state.value,
            "outcome": decision.outcome.value if decision else None,
            "enforcement": decision.enforcement.value if decision else None,
            "measures": list(MEASURES[decision.enforcement]) if decision else [],
            "rule_ids": list(decision.rule_ids) if decision else [],
            "policy_version": decision.policy_version if decision else None,
            "statement_of_reasons": decision.statement_of_reasons if decision else None,
            "automated": decision.automated if decision else True,
            "decided_at": iso(case.decided_at) if case.decided_at else None,
            "appeal_deadline": appeal_deadline,
            "wait_days": self.policy.first_person_wait_days,
            "source": "notice",
        }
        facts.update(extra)
        return facts

    def receipt(self, report: Report) -> NotificationRequest:
        event_id = f"report:{report.report_id}"
        missing = list(missing_confirmations(report.category, report.relationship, report.attestations, self.policy))
        return NotificationRequest(
            notification_id=notification_id_for(event_id, report.reporter_id, NotificationKind.RECEIPT),
            kind=NotificationKind.RECEIPT,
            recipient_id=report.reporter_id,
            case_id=report.case_id,
            report_id=report.report_id,
            event_id=event_id,
            locale=report.locale,
            facts={
                "post_id": report.post_id,
                "category": report.category.value,
                "submitted_at": iso(report.submitted_at),
                "report_id": report.report_id,
                # the receipt says what a first-person report still lacks and how to add it
                "missing_confirmations": missing,
                "add_confirmations": f"/reports/{report.report_id}/confirmations" if missing else None,
            },
        )

    def reporter_facts(self, case: Case) -> Facts:
        """What a reporter may be told: the content decision and its reasons, never the author's account measures,
        strikes or history (the author's personal data)."""
        facts = self.facts_for(case)
        decision = case.decision
        facts.update(
            enforcement=None,
            measures=[],
            rule_ids=list(reporter_rule_ids(decision, self.policy)) if decision else [],
            statement_of_reasons=reporter_statement(decision, case.category, self.policy) if decision else None,
        )
        return facts

    def to_reporter(self, case: Case, kind: NotificationKind, report: Report, event_id: str) -> NotificationRequest:
        return NotificationRequest(
            notification_id=notification_id_for(event_id, report.reporter_id, kind),
            kind=kind,
            recipient_id=report.reporter_id,
            case_id=case.case_id,
            report_id=report.report_id,
            event_id=event_id,
            locale=report.locale,
            facts=self.reporter_facts(case),
        )

    def to_author(self, case: Case, kind: NotificationKind, event_id: str, **extra: str) -> list[NotificationRequest]:
        if not case.author_id:
            return []
        return [
            NotificationRequest(
                notification_id=notification_id_for(event_id, case.author_id, kind),
                kind=kind,
                recipient_id=case.author_id,
                case_id=case.case_id,
                event_id=event_id,
                facts=self.facts_for(case, **extra),
            )
        ]

    def platform_events(self, case: Case, event_id: str, actions: Iterable[str]) -> list[EnforcementEvent]:
        if not case.author_id or case.decision is None:
            return []
        return [
            EnforcementEvent(
                event_id=f"{event_id}:{action}",
                action=action,
                case_id=case.case_id,
                post_id=case.post_id,
                account_id=case.author_id,
                rule_ids=case.decision.rule_ids,
                policy_version=case.decision.policy_version,
                at=iso(case.updated_at),
            )
            for action in actions
        ]

    # ------------------------------------------------------------ what each change owes

    def for_folded_report(self, report: Report, case: Case | None) -> Outbox:
        """A report taken into a case that did not change: its receipt, and the outcome if there is one."""
        outbox = Outbox(notifications=[self.receipt(report)])
        if case is None:
            return outbox
        if case.state in (*DECIDED_STATES, CaseState.CLOSED) and case.decision:
            outbox.notifications.append(
                self.to_reporter(case, NotificationKind.OUTCOME, report, self.decision_event_id(case))
            )
        elif case.state == CaseState.AWAITING_FIRST_PERSON and report.relationship == Relationship.OTHER:
            outbox.notifications.append(
                self.to_reporter(case, NotificationKind.AWAITING_FIRST_PERSON, report, f"report:{report.report_id}")
            )
        return outbox

    def after_decision(
        self,
        case: Case,
        trigger: Report | None,
        previous: CaseState | None,
        enforcement_seq: int | None,
    ) -> Outbox:
        """After a case was evaluated or decided: receipt, outcome to every reporter once decided, the statement
        of reasons to the author and the enforcement events when a measure was applied."""
        outbox = Outbox()
        if trigger is not None:
            outbox.notifications.append(self.receipt(trigger))
        if case.state in DECIDED_STATES and case.state != previous:
            event_id = self.decision_event_id(case)
            for report in self.repository.case_reports(case.case_id):
                outbox.notifications.append(self.to_reporter(case, NotificationKind.OUTCOME, report, event_id))
        elif case.state == CaseState.AWAITING_FIRST_PERSON and trigger is not None:
            outbox.notifications.append(
                self.to_reporter(case, NotificationKind.AWAITING_FIRST_PERSON, trigger, f"report:{trigger.report_id}")
            )
        if enforcement_seq is not None and case.decision is not None:
            event_id = f"{case.case_id}:{enforcement_seq}"
            outbox.notifications += self.to_author(case, NotificationKind.STATEMENT_OF_REASONS, event_id)
            outbox.enforcement += self.platform_events(case, event_id, MEASURES[case.decision.enforcement])
            outbox.enforcement_of = (case.case_id, enforcement_seq)
        return dedupe(outbox)

    def after_appeal(self, case: Case, appeal_seq: int, lifted: Iterable[str], applied_seq: int | None) -> Outbox:
        """Both sides hear the appeal's outcome; measures lifted or applied reach the platform."""
        event_id = f"{case.case_id}:{appeal_seq}"
        outbox = Outbox()
        outbox.notifications += self.to_author(case, NotificationKind.APPEAL_OUTCOME, event_id)
        for report in self.repository.case_reports(case.case_id):
            outbox.notifications.append(self.to_reporter(case, NotificationKind.APPEAL_OUTCOME, report, event_id))
        lifted = list(lifted)
        if lifted:
            outbox.enforcement += self.platform_events(case, f"{event_id}:lift", [UNDO[m] for m in lifted])
        if applied_seq is not None and case.decision is not None:
            applied_id = f"{case.case_id}:{applied_seq}"
            outbox.notifications += self.to_author(case, NotificationKind.STATEMENT_OF_REASONS, applied_id)
            outbox.enforcement += self.platform_events(case, applied_id, MEASURES[case.decision.enforcement])
        return dedupe(outbox)

    def after_lock_lifted(self, case: Case, seq: int, reason: str) -> Outbox:
        event_id = f"{case.case_id}:{seq}"
        return Outbox(
            notifications=self.to_author(case, NotificationKind.LOCK_LIFTED, event_id, reason=reason),
            enforcement=self.platform_events(case, event_id, ["account.unlock"]),
        )

    def send(self, outbox: Outbox, redelivered: bool = False) -> None:
        """Publish, then remember that the enforcement was published, so a redelivered message re-sends only
        what may be missing (notifications, deduplicated downstream) and the platform gets each event once.

        A failure raises: the caller's message is retried and everything re-derived with the same ids. Only a
        crash between publishing and remembering can repeat an event, and then with the same event id.
        """
        if redelivered and outbox.enforcement and outbox.enforcement_of:
            case_id, seq = outbox.enforcement_of
            if self.repository.effects_published(case_id, seq):
                outbox.enforcement = []
        if outbox.enforcement:
            self.enforcement.publish(outbox.enforcement)
            if outbox.enforcement_of:
                self.repository.mark_effects_published(*outbox.enforcement_of)
        if outbox.notifications:
            self.notifications.send_all(outbox.notifications)


def dedupe(outbox: Outbox) -> Outbox:
    """A reporter folded in the same change must not be told twice."""
    outbox.notifications = list({n.notification_id: n for n in outbox.notifications}.values())
    return outbox


class CaseWorkflow:
    """What every service that changes cases holds: the repository, the clock, the policy and the effects."""

    def __init__(
        self,
        repository: CaseRepository,
        notifications: QueuePublisher,
        enforcement: EnforcementPublisher,
        clock: Clock = utc_now,
        policy: Policy | None = None,
    ) -> None:
        self.repository = repository
        self.clock = clock
        self.policy = policy or load_policy()
        self.effects = Effects(repository, notifications, enforcement, self.policy)

    def change_with_event(
        self, case: Case, now: datetime, actor: str, event_type: EventType, data: dict[str, Any], **updates: Any
    ) -> Case:
        """One change of a case with one event: the next version, the event appended, in one guarded transaction
        (VersionConflict if someone changed the case first)."""
        updated = case.model_copy(update={**updates, "version": case.version + 1, "updated_at": now})
        if updated.state != case.state:
            check_move(case.state, updated.state)
        event = CaseEvent(case_id=case.case_id, seq=updated.version, type=event_type, at=now, actor=actor, data=data)
        self.repository.save_case_change(CaseChange(case=updated, expected_version=case.version, events=[event]))
        return updated
