"""What a case change owes the world: notifications to reporters and the author, enforcement events to the
platform, later statements, counters and bank entries. Derived from the change before it is stored and stored with
it, as one outbox item in the change's own transaction (repository/outbox.py); delivered at least once by
services/delivery.py (in the evaluation function for what its decisions committed, in the effects function for
what is announced to it). Every effect has a stable id, so a repeat is recognised downstream.

Nothing here sends: the one path out is the outbox. After the commit the `Announcer` tells the effects queue that
an item is ready (a hint for speed: if it is lost, the item's own timer brings it to the scheduled re-review, which
announces it again); the evaluation's `InlineDelivery` delivers it instead, and announces what it leaves."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from consent_guard.cases import check_move
from consent_guard.clock import Clock, utc_now
from consent_guard.ids import notification_id_for
from consent_guard.messaging import DeliveryFailed, EnforcementEvent, QueuePublisher
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
from consent_guard.models.effects import Effect, EffectKind, Outbox, OutboxReady
from consent_guard.models.items import iso
from consent_guard.models.messages import NotificationRequest
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import (
    Policy,
    load_policy,
    missing_confirmations,
    reporter_rule_ids,
    reporter_statement,
)
from consent_guard.repository import CaseChange, CaseRepository
from consent_guard.services.stats_effects import with_stats

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


def case_outbox_id(case: Case) -> str:
    """A case change's outbox: the case and the version the change stored (the version guard makes it unique)."""
    return f"case:{case.case_id}:{case.version}"


# ---------------------------------------------------------------- effects of each kind


def notification_effect(request: NotificationRequest) -> Effect:
    return Effect(
        kind=EffectKind.NOTIFICATION, effect_id=request.notification_id, payload=request.model_dump(mode="json")
    )


def enforcement_effect(event: EnforcementEvent) -> Effect:
    return Effect(kind=EffectKind.ENFORCEMENT, effect_id=event.event_id, payload=event.detail())


def reporters_effect(
    case: Case, kind: NotificationKind, event_id: str, facts: Facts, include_erased: bool = False
) -> Effect:
    """The same notice to every reporter of the case, page by page (each reporter's notification id is derived
    from (event, reporter, kind) when the page is sent: a page sent twice is recognised)."""
    return Effect(
        kind=EffectKind.NOTIFY_REPORTERS,
        effect_id=f"{event_id}:{kind.value}:reporters",
        payload={
            "case_id": case.case_id,
            "kind": kind.value,
            "event_id": event_id,
            "facts": facts,
            "include_erased": include_erased,
        },
    )


def evaluation_effect(effect_id: str, message: Any) -> Effect:
    return Effect(kind=EffectKind.EVALUATE, effect_id=effect_id, payload=message.model_dump(mode="json"))


def unfounded_effect(case: Case, at: datetime) -> Effect:
    """Every reporter of the case counted once for a manifestly unfounded report (DSA Art. 23), page by page."""
    return Effect(
        kind=EffectKind.COUNT_UNFOUNDED,
        effect_id=f"{case.case_id}:{case.version}:unfounded",
        payload={"case_id": case.case_id, "at": iso(at)},
    )


class Effects:
    """Derives the effects of each kind of change, with stable ids."""

    def __init__(self, policy: Policy) -> None:
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

    def receipt(self, report: Report) -> Effect:
        event_id = f"report:{report.report_id}"
        missing = list(missing_confirmations(report.category, report.relationship, report.attestations, self.policy))
        return notification_effect(
            NotificationRequest(
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

    def to_reporter(self, case: Case, kind: NotificationKind, report: Report, event_id: str) -> Effect:
        return notification_effect(
            NotificationRequest(
                notification_id=notification_id_for(event_id, report.reporter_id, kind),
                kind=kind,
                recipient_id=report.reporter_id,
                case_id=case.case_id,
                report_id=report.report_id,
                event_id=event_id,
                locale=report.locale,
                facts=self.reporter_facts(case),
            )
        )

    def to_author(self, case: Case, kind: NotificationKind, event_id: str, **extra: str) -> list[Effect]:
        if not case.author_id:
            return []
        return [
            notification_effect(
                NotificationRequest(
                    notification_id=notification_id_for(event_id, case.author_id, kind),
                    kind=kind,
                    recipient_id=case.author_id,
                    case_id=case.case_id,
                    event_id=event_id,
                    facts=self.facts_for(case, **extra),
                )
            )
        ]

    def platform_events(self, case: Case, event_id: str, actions: Iterable[str]) -> list[Effect]:
        if not case.author_id or case.decision is None:
            return []
        return [
            enforcement_effect(
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
            )
            for action in actions
        ]

    # ------------------------------------------------------------ what each change owes

    def for_folded_report(self, report: Report, case: Case | None) -> list[Effect]:
        """A report taken into a case that did not change: its receipt, and the outcome if there is one."""
        effects = [self.receipt(report)]
        if case is None:
            return effects
        if case.state in (*DECIDED_STATES, CaseState.CLOSED) and case.decision:
            effects.append(self.to_reporter(case, NotificationKind.OUTCOME, report, self.decision_event_id(case)))
        elif case.state == CaseState.AWAITING_FIRST_PERSON and report.relationship == Relationship.OTHER:
            effects.append(
                self.to_reporter(case, NotificationKind.AWAITING_FIRST_PERSON, report, f"report:{report.report_id}")
            )
        return effects

    def after_decision(
        self, case: Case, trigger: Report | None, previous: CaseState | None, enforcement_seq: int | None
    ) -> list[Effect]:
        """After a case was evaluated or decided: receipt, outcome to every reporter once decided (a fan-out), the
        statement of reasons to the author and the enforcement events when a measure was applied."""
        effects: list[Effect] = []
        if trigger is not None:
            effects.append(self.receipt(trigger))
        if case.state in DECIDED_STATES and case.state != previous:
            if previous is None and trigger is not None:
                # a case created and decided by its first report: no other report was taken in before (one
                # evaluated later is folded and told the outcome then), so no fan-out and no shard query
                effects.append(self.to_reporter(case, NotificationKind.OUTCOME, trigger, self.decision_event_id(case)))
            else:
                effects.append(
                    reporters_effect(
                        case, NotificationKind.OUTCOME, self.decision_event_id(case), self.reporter_facts(case)
                    )
                )
        elif case.state == CaseState.AWAITING_FIRST_PERSON and trigger is not None:
            effects.append(
                self.to_reporter(case, NotificationKind.AWAITING_FIRST_PERSON, trigger, f"report:{trigger.report_id}")
            )
        if enforcement_seq is not None and case.decision is not None:
            event_id = f"{case.case_id}:{enforcement_seq}"
            effects += self.to_author(case, NotificationKind.STATEMENT_OF_REASONS, event_id)
            effects += self.platform_events(case, event_id, MEASURES[case.decision.enforcement])
        return effects

    def after_appeal(self, case: Case, appeal_seq: int, lifted: Iterable[str], applied_seq: int | None) -> list[Effect]:
        """Both sides hear the appeal's outcome; measures lifted or applied reach the platform."""
        event_id = f"{case.case_id}:{appeal_seq}"
        effects = self.to_author(case, NotificationKind.APPEAL_OUTCOME, event_id)
        effects.append(reporters_effect(case, NotificationKind.APPEAL_OUTCOME, event_id, self.reporter_facts(case)))
        lifted = list(lifted)
        if lifted:
            effects += self.platform_events(case, f"{event_id}:lift", [UNDO[m] for m in lifted])
        if applied_seq is not None and case.decision is not None:
            applied_id = f"{case.case_id}:{applied_seq}"
            effects += self.to_author(case, NotificationKind.STATEMENT_OF_REASONS, applied_id)
            effects += self.platform_events(case, applied_id, MEASURES[case.decision.enforcement])
        return effects

    def after_lock_lifted(self, case: Case, seq: int, reason: str) -> list[Effect]:
        event_id = f"{case.case_id}:{seq}"
        return [
            *self.to_author(case, NotificationKind.LOCK_LIFTED, event_id, reason=reason),
            *self.platform_events(case, event_id, ["account.unlock"]),
        ]


class Announcer:
    """Tells the effects queue that an outbox item is ready. Only a hint: a failure is logged and counted, never
    raised - the committed item is delivered anyway (its timer brings it to the scheduled re-review)."""

    def __init__(self, effects_queue: QueuePublisher) -> None:
        self.effects_queue = effects_queue
        self._held: list[Outbox] | None = None  # inside `batched`: the items announced so far
        self._batching = False  # releasing what a batch held: one SendMessageBatch per ten

    def announce(self, outbox: Outbox) -> None:
        """`outbox` as its change stored it (committed)."""
        if self._held is not None:
            self._held.append(outbox)
            return
        self.release([outbox])

    def release(self, stored: list[Outbox]) -> None:
        """What happens to committed items once announced (and, inside `batched`, once the batch is done)."""
        self.announce_ids([outbox.outbox_id for outbox in stored])

    def announce_ids(self, outbox_ids: list[str]) -> None:
        if not outbox_ids:
            return
        try:
            if len(outbox_ids) == 1 and not self._batching:
                self.effects_queue.send(OutboxReady(outbox_id=outbox_ids[0]))
            else:
                self.effects_queue.send_all([OutboxReady(outbox_id=outbox_id) for outbox_id in outbox_ids])
        except DeliveryFailed as exc:
            metrics.add_metric(name="OutboxAnnounceFailed", unit=MetricUnit.Count, value=len(outbox_ids))
            logger.warning(
                "outbox items not announced; their timers deliver them", count=len(outbox_ids), error=str(exc)
            )

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Announce what a batch of messages stored when the batch is done, ten per SendMessageBatch: a storm's
        folded reports cost one send per ten, not one each. The delay is the batch's own; an announcement lost
        to a crash before the end is a hint lost, and the item's timer announces it again."""
        if self._held is not None:  # already batching (nested): the outer block sends
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held:
                self._batching = True
                try:
                    self.release(held)
                finally:
                    self._batching = False


class CaseWorkflow:
    """What every service that changes cases holds: the repository, the clock, the policy, the effects it derives
    and the announcer of stored outbox items."""

    def __init__(
        self,
        repository: CaseRepository,
        effects_queue: QueuePublisher,
        clock: Clock = utc_now,
        policy: Policy | None = None,
    ) -> None:
        self.repository = repository
        self.clock = clock
        self.policy = policy or load_policy()
        self.effects = Effects(self.policy)
        self.announcer = Announcer(effects_queue)

    def outbox(self, case: Case, effects: Iterable[Effect]) -> Outbox | None:
        """The outbox item of a case change (None when the change owes nothing)."""
        effects = tuple(effects)
        return Outbox(outbox_id=case_outbox_id(case), effects=effects) if effects else None

    def save(self, change: CaseChange, before: Case | None = None, notices: Iterable[Report] = ()) -> None:
        """Store a case change with its outbox in one transaction, then announce the outbox. `before` (the case as
        read) and `notices` (reports taken in) give the change's statistics (services/stats_effects.py)."""
        change = with_stats(change, before, case_outbox_id(change.case), notices)
        if before is not None and change.before is None:
            change = replace(change, before=before)  # the decision's texts are rewritten only when they change
        self.repository.save_case_change(change)
        if change.outbox is not None:
            self.announcer.announce(change.outbox)

    def change_with_event(
        self,
        case: Case,
        now: datetime,
        actor: str,
        event_type: EventType,
        data: dict[str, Any],
        effects: Callable[[Case], Iterable[Effect]] | None = None,
        **updates: Any,
    ) -> Case:
        """One change of a case with one event: the next version, the event appended, and what `effects` derives
        from the updated case, in one guarded transaction (VersionConflict if someone changed the case first)."""
        updated = case.model_copy(update={**updates, "version": case.version + 1, "updated_at": now})
        if updated.state != case.state:
            check_move(case.state, updated.state)
        event = CaseEvent(case_id=case.case_id, seq=updated.version, type=event_type, at=now, actor=actor, data=data)
        self.save(
            CaseChange(
                case=updated,
                expected_version=case.version,
                events=[event],
                outbox=self.outbox(updated, effects(updated) if effects else ()),
            ),
            before=case,
        )
        return updated
