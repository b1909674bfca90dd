"""What moderators, appeal reviewers, admins and authors do with cases: queues, claims, decisions, appeals.

Every change is one version-guarded transaction (status item + appended events + strikes); the loser of a race
gets a 409 with the winner's state. Decisions by people run the same enforcement ladder as automated ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from consent_guard.auth import Group, Principal
from consent_guard.cases import check_move
from consent_guard.errors import Conflict, Forbidden, IllegalTransition, InvalidRequest, NotFound, VersionConflict
from consent_guard.ids import digest, notification_id_for
from consent_guard.models import api
from consent_guard.models import items as it
from consent_guard.models.domain import (
    Appeal,
    Attestations,
    Case,
    CaseEvent,
    CaseFacts,
    CaseState,
    Decision,
    EventType,
    NotificationKind,
    Outcome,
    Relationship,
    ReportFacts,
    Strike,
)
from consent_guard.models.messages import NotificationRequest
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import RuleNotApplicable, decide_by_person
from consent_guard.repository import CaseChange
from consent_guard.repository.bank import BankChange
from consent_guard.services.banking import decision_bank_change
from consent_guard.services.effects import MEASURES, CaseWorkflow
from consent_guard.services.evaluation import with_timer

STAFF = (Group.MODERATORS, Group.APPEALS, Group.ADMINS)
# what a person's decision on a case opened by automated detection is recorded against (the engine does not weigh it)
_DETECTED = ReportFacts(
    report_id="automated_detection",
    reporter_id="system",
    relationship=Relationship.OTHER,
    attestations=Attestations(),
    submitted_at=datetime(2000, 1, 1, tzinfo=UTC),
)


class RuleRejected(InvalidRequest):
    """The cited rule does not fit the case or the outcome."""

    code = "rule_not_applicable"


def summary(case: Case) -> api.CaseSummary:
    return api.CaseSummary(
        case_id=case.case_id,
        post_id=case.post_id,
        category=case.category.value,
        state=case.state.value,
        version=case.version,
        review_priority=case.review_priority,
        queued_at=case.queued_at,
        review_due_at=case.review_due_at,
        claimed_by=case.claimed_by,
        claim_expires_at=case.claim_expires_at,
        appeal_filed_at=case.appeal.filed_at if case.appeal else None,
        appellant_role=case.appeal.appellant_role if case.appeal else None,
    )


def decision_view(case: Case, staff: bool) -> api.DecisionView | None:
    d = case.decision
    if d is None:
        return None
    return api.DecisionView(
        outcome=d.outcome.value,
        enforcement=d.enforcement.value,
        rule_ids=list(d.rule_ids),
        policy_version=d.policy_version,
        automated=d.automated,
        statement_of_reasons=d.statement_of_reasons,
        reasons=list(d.reasons) if staff else [],
        decided_at=case.decided_at,
        decided_by=case.decided_by if staff else None,
    )


class CaseService(CaseWorkflow):
    # ------------------------------------------------------------ reading

    def queue(self, principal: Principal, queue: str, limit: int, cursor: str | None) -> api.CasePage:
        if queue == "review":
            principal.require_group(Group.MODERATORS, Group.ADMINS)
            cases, next_cursor = self.repository.queue(it.REVIEW_QUEUE, limit, cursor)
        else:
            principal.require_group(Group.APPEALS, Group.ADMINS)
            cases, next_cursor = self.repository.queue(it.APPEALS_QUEUE, limit, cursor)
        return api.CasePage(items=[summary(c) for c in cases], next_cursor=next_cursor)

    def view(self, principal: Principal, case_id: str) -> api.CaseView:
        case = self._get(case_id)
        staff = any(principal.in_group(g) for g in STAFF)
        if not staff and principal.subject != case.author_id:
            raise NotFound("case not found")  # reporters read their reports; anyone else learns nothing
        view = api.CaseView(
            case=summary(case),
            decision=decision_view(case, staff),
            measures_active=list(case.measures_active),
            appeal=api.AppealView(
                appellant_role=case.appeal.appellant_role,
                filed_at=case.appeal.filed_at,
                reason=case.appeal.reason if staff else None,
            )
            if case.appeal
            else None,
            appeal_deadline=self._appeal_deadline(case),
            can_appeal=principal.subject == case.author_id and self._appeal_refusal(case, "author") is None,
        )
        if not staff:
            return view
        reports = self.repository.case_reports(case.case_id)
        events = self.repository.case_events(case.case_id)
        post = self.repository.get_post_context(case.post_id)
        failures = []
        for failure in self.repository.notification_failures(case.case_id):
            current = self.repository.get_notification(str(failure["notification_id"]))
            failures.append(
                {
                    "notification_id": failure["notification_id"],
                    "kind": failure["kind"],
                    "attempts": int(current.attempts if current else failure["attempts"]),
                    "email_status": current.email_status.value if current else "failed",
                }
            )
        return view.model_copy(
            update={
                "failed_notifications": failures,
                "detection": api.DetectionView(
                    source=case.detection.source,
                    matches=[m.model_dump(mode="json") for m in case.detection.matches],
                )
                if case.detection
                else None,
                "reports": [
                    api.StaffReportView(
                        report_id=r.report_id,
                        reporter_id=r.reporter_id,
                        relationship=r.relationship.value,
                        attestations=r.attestations.model_dump(),
                        live_location=r.live_location,
                        trusted_flagger=r.trusted_flagger,
                        description=r.description,
                        status=r.status.value,
                        submitted_at=r.submitted_at,
                    )
                    for r in reports
                ],
                "events": [
                    api.CaseEventView(seq=e.seq, type=e.type.value, at=e.at, actor=e.actor, data=e.data) for e in events
                ],
                "post": api.PostView(
                    post_id=post.facts.post_id,
                    author_id=post.facts.author_id,
                    text=post.text,
                    media=[{"media_id": m.media_id, "media_type": m.media_type.value} for m in post.facts.media],
                    signals=post.facts.signals.model_dump(),
                    deleted=post.facts.deleted,
                    is_reshare=post.facts.is_reshare,
                )
                if post
                else None,
            }
        )

    # ------------------------------------------------------------ moderators

    def claim(self, principal: Principal, case_id: str) -> api.CaseSummary:
        """Assign the case to the caller for the policy's claim time, so two people don't work the same case."""
        case = self._get(case_id)
        if case.state == CaseState.APPEALED:
            principal.require_group(Group.APPEALS, Group.ADMINS)
        elif case.state == CaseState.IN_REVIEW:
            principal.require_group(Group.MODERATORS, Group.ADMINS)
        else:
            principal.require_group(*STAFF)
            raise IllegalTransition("only cases waiting for a person can be claimed", current_state=case.state)
        now = self.clock()
        if case.claimed_by_other(principal.subject, now):
            raise Conflict(
                "the case is claimed by someone else",
                claimed_by=case.claimed_by,
                claim_expires_at=case.claim_expires_at,
            )
        expires = now + timedelta(minutes=self.policy.claim_minutes)
        updated = self.change_with_event(
            case,
            now,
            principal.subject,
            EventType.ASSIGNED,
            {"claim_expires_at": it.iso(expires)},
            claimed_by=principal.subject,
            claim_expires_at=expires,
        )
        logger.info("case claimed", case_id=case.case_id, version=updated.version)
        return summary(updated)

    def decide(self, principal: Principal, case_id: str, request: api.DecisionRequest) -> api.CaseView:
        principal.require_group(Group.MODERATORS, Group.ADMINS)
        case = self._get(case_id)
        self._check_version(case, request.version)
        now = self.clock()
        if case.state != CaseState.IN_REVIEW:
            raise IllegalTransition("only cases in review can be decided by a moderator", current_state=case.state)
        if case.claimed_by_other(principal.subject, now):
            raise Conflict("the case is claimed by someone else", claimed_by=case.claimed_by)
        note = {"note_given": bool(request.note)}
        if request.outcome == "escalate":
            updated = self.change_with_event(
                case,
                now,
                principal.subject,
                EventType.ESCALATED,
                {**note, "note": request.note},
                review_priority=0,
                claimed_by=None,
                claim_expires_at=None,
            )
            metrics.add_metric(name="CasesEscalated", unit=MetricUnit.Count, value=1)
            return self._staff_view(updated)
        decision = self._person_decision(case, Outcome(request.outcome), request.rule_id or "", now)
        updated, events, strikes, enforcement_seq = self._apply_decision(
            case,
            decision,
            principal.subject,
            now,
            EventType.DECIDED,
            {"note": request.note, "manifestly_unfounded": request.manifestly_unfounded},
        )
        updated = with_timer(updated, case, now, self.policy)
        bank, owned = self._bank_change(case, updated, now)
        updated = updated.model_copy(update={"bank_entries": owned})
        self.repository.save_case_change(
            CaseChange(case=updated, expected_version=case.version, events=events, strikes=strikes, bank=bank)
        )
        metrics.add_metric(name="ModeratorDecisions", unit=MetricUnit.Count, value=1)
        logger.info(
            "case decided by a moderator",
            case_id=case.case_id,
            outcome=decision.outcome.value,
            rule_ids=list(decision.rule_ids),
            version=updated.version,
        )
        outbox = self.effects.after_decision(updated, None, case.state, enforcement_seq)
        if request.manifestly_unfounded:
            for report in self.repository.case_reports(case.case_id):
                outbox.notifications += self._count_unfounded(report.reporter_id, case.case_id, now)
        self.effects.send(outbox)
        return self._staff_view(updated)

    # ------------------------------------------------------------ appeals

    def appeal(self, principal: Principal, case_id: str, request: api.AppealRequest) -> api.CaseView:
        """The author appeals a removal; a reporter appeals a decision to take no action (DSA Art. 20)."""
        case = self._get(case_id)
        principal.require_person()
        if principal.subject == case.author_id:
            role = "author"
        elif self.repository.reported_by(digest("report", principal.subject, case.post_id, case.category)):
            role = "reporter"
        else:
            raise NotFound("case not found")
        refusal = self._appeal_refusal(case, role)
        if refusal is not None:
            raise Conflict(refusal, current_state=case.state)
        now = self.clock()
        assert case.decided_at is not None  # guaranteed by _appeal_refusal
        updated = self.change_with_event(
            case,
            now,
            principal.subject,
            EventType.APPEALED,
            {"role": role, "decision_appealed_at": it.iso(case.decided_at)},
            state=CaseState.APPEALED,
            appeal=Appeal(
                appellant_id=principal.subject,
                appellant_role=role,
                filed_at=now,
                decision_appealed_at=case.decided_at,
                previous_state=case.state,
                reason=request.reason,
            ),
            claimed_by=None,
            claim_expires_at=None,
        )
        metrics.add_metric(name="AppealsFiled", unit=MetricUnit.Count, value=1)
        logger.info("appeal filed", case_id=case.case_id, role=role)
        return self.view(principal, case_id) if role == "author" else api.CaseView(case=summary(updated))

    def decide_appeal(self, principal: Principal, case_id: str, request: api.AppealDecisionRequest) -> api.CaseView:
        """Decided by a member of `appeals` who did not make the decision appealed; never by automation."""
        principal.require_group(Group.APPEALS)
        case = self._get(case_id)
        self._check_version(case, request.version)
        if case.state != CaseState.APPEALED or case.appeal is None:
            raise IllegalTransition("the case has no open appeal", current_state=case.state)
        if principal.subject == case.decided_by:
            raise Forbidden("an appeal is decided by someone other than the person who made the decision")
        now = self.clock()
        if case.claimed_by_other(principal.subject, now):
            raise Conflict("the case is claimed by someone else", claimed_by=case.claimed_by)
        appeal = case.appeal
        base = case.model_copy(
            update={
                "appeal": None,
                "appealed_decisions": (*case.appealed_decisions, appeal.decision_appealed_at),
                "claimed_by": None,
                "claim_expires_at": None,
            }
        )
        data: dict[str, Any] = {"result": request.result, "role": appeal.appellant_role, "note": request.note}
        lifted: tuple[str, ...] = ()
        strikes_removed: list[tuple[str, str]] = []
        strikes: list[tuple[str, Strike]] = []
        applied_seq: int | None = None
        if request.result == "uphold":
            updated = base.model_copy(
                update={"state": appeal.previous_state, "version": case.version + 1, "updated_at": now}
            )
            events = [
                CaseEvent(
                    case_id=case.case_id,
                    seq=updated.version,
                    type=EventType.APPEAL_DECIDED,
                    at=now,
                    actor=principal.subject,
                    data=data,
                )
            ]
        else:
            new_outcome = Outcome.NO_VIOLATION if appeal.previous_state == CaseState.ACTIONED else Outcome.REMOVE
            decision = self._person_decision(base, new_outcome, request.rule_id or "", now)
            if new_outcome == Outcome.NO_VIOLATION:
                lifted = case.measures_active
                updated = base.model_copy(
                    update={
                        "state": CaseState.DISMISSED,
                        "version": case.version + 1,
                        "updated_at": now,
                        "decision": decision,
                        "decided_at": now,
                        "decided_by": principal.subject,
                        "measures_active": (),
                        "due_kind": None,
                        "due_at": None,
                    }
                )
                events = [
                    CaseEvent(
                        case_id=case.case_id,
                        seq=updated.version,
                        type=EventType.APPEAL_DECIDED,
                        at=now,
                        actor=principal.subject,
                        data={**data, "outcome": decision.outcome.value, "rule_ids": list(decision.rule_ids)},
                    )
                ]
                if lifted:
                    updated = updated.model_copy(update={"version": updated.version + 1})
                    events.append(
                        CaseEvent(
                            case_id=case.case_id,
                            seq=updated.version,
                            type=EventType.ENFORCEMENT_LIFTED,
                            at=now,
                            actor=principal.subject,
                            data={"measures": list(lifted), "reason": "appeal_overturned"},
                        )
                    )
                if case.author_id:
                    strikes_removed.append((case.author_id, case.case_id))
            else:
                appealing = base.model_copy(update={"state": CaseState.APPEALED})
                updated, events, strikes, applied_seq = self._apply_decision(
                    appealing, decision, principal.subject, now, EventType.APPEAL_DECIDED, data
                )
        updated = with_timer(updated, case, now, self.policy)
        check_move(CaseState.APPEALED, updated.state)
        bank = None
        if request.result == "overturn":
            # an overturn takes effect in the banks at once: the removal's entries are disabled in this transaction
            bank, owned = self._bank_change(case, updated, now)
            updated = updated.model_copy(update={"bank_entries": owned})
            if bank is not None and bank.disable:
                events[0] = events[0].model_copy(
                    update={"data": {**events[0].data, "bank_entries_disabled": len(bank.disable)}}
                )
        self.repository.save_case_change(
            CaseChange(
                case=updated,
                expected_version=case.version,
                events=events,
                strikes=strikes,
                strikes_removed=strikes_removed,
                bank=bank,
            )
        )
        metrics.add_metric(name=f"Appeal_{request.result}", unit=MetricUnit.Count, value=1)
        logger.info("appeal decided", case_id=case.case_id, result=request.result, state=updated.state.value)
        self.effects.send(self.effects.after_appeal(updated, events[0].seq, lifted, applied_seq))
        return self._staff_view(updated)

    # ------------------------------------------------------------ admins

    def set_dedicated_to_exposure(
        self, principal: Principal, account_id: str, request: api.DedicatedExposureRequest
    ) -> api.ContextAccepted:
        principal.require_group(Group.ADMINS)
        self.repository.set_dedicated_to_exposure(account_id, request.dedicated_to_exposure, self.clock())
        logger.info("account marked", account_id=account_id, dedicated_to_exposure=request.dedicated_to_exposure)
        return api.ContextAccepted(id=account_id)

    # ------------------------------------------------------------ reporters who misuse reporting (DSA Art. 23)

    def _count_unfounded(self, reporter_id: str, case_id: str, now: datetime) -> list[NotificationRequest]:
        """Count a manifestly unfounded report: after `warn_after` a warning, after `suspend_after` (and a prior
        warning) reports from this person are not processed for `suspension_days`. Case by case: only reports a
        moderator marked as manifestly unfounded count, within a window."""
        misuse = self.policy.reporter_misuse
        for _ in range(3):
            stored = self.repository.reporter_standing(reporter_id)
            version = int(stored["version"]) if stored else None
            since = now - timedelta(days=misuse.window_days)
            unfounded = (
                [t for t in json.loads(stored["unfounded"]) if datetime.fromisoformat(t) >= since] if stored else []
            )
            if stored and case_id in json.loads(stored.get("cases", "[]")):
                return []  # this case was counted already
            unfounded.append(it.iso(now))
            history = json.loads(stored["history"]) if stored else []
            warned_at = stored.get("warned_at") if stored else None
            suspended_until = stored.get("suspended_until") if stored else None
            kind: NotificationKind | None = None
            if (
                len(unfounded) >= misuse.suspend_after
                and warned_at
                and (not suspended_until or suspended_until < it.iso(now))
            ):
                suspended_until = it.iso(now + timedelta(days=misuse.suspension_days))
                kind = NotificationKind.REPORTING_SUSPENDED
            elif len(unfounded) >= misuse.warn_after and not warned_at:
                warned_at = it.iso(now)
                kind = NotificationKind.REPORTING_WARNING
            history.append({"at": it.iso(now), "case_id": case_id, "event": kind.value if kind else "unfounded"})
            standing: dict[str, Any] = {
                "type": "reporter_standing",
                "reporter_id": reporter_id,
                "version": (version or 0) + 1,
                "unfounded": json.dumps(unfounded),
                "cases": json.dumps([*json.loads(stored.get("cases", "[]"))[-50:], case_id] if stored else [case_id]),
                "history": json.dumps(history[-100:]),
            }
            if warned_at:
                standing["warned_at"] = warned_at
            if suspended_until:
                standing["suspended_until"] = suspended_until
            try:
                self.repository.save_reporter_standing(standing, version)
            except VersionConflict:
                continue
            logger.info("unfounded report counted", reporter_count=len(unfounded), action=kind.value if kind else None)
            if kind is None:
                return []
            metrics.add_metric(name=f"Reporter_{kind.value}", unit=MetricUnit.Count, value=1)
            event_id = f"standing:{reporter_id}:{standing['version']}"
            return [
                NotificationRequest(
                    notification_id=notification_id_for(event_id, reporter_id, kind),
                    kind=kind,
                    recipient_id=reporter_id,
                    case_id=case_id,
                    event_id=event_id,
                    facts={
                        "unfounded_count": len(unfounded),
                        "window_days": misuse.window_days,
                        "suspend_after": misuse.suspend_after,
                        "suspended_until": suspended_until,
                        "suspension_days": misuse.suspension_days,
                    },
                )
            ]
        raise VersionConflict("the reporter's standing kept changing")

    # ------------------------------------------------------------ helpers

    def _bank_change(self, previous: Case, updated: Case, now: datetime) -> tuple[BankChange | None, tuple[str, ...]]:
        if updated.category not in self.policy.index.banked_categories:
            return None, updated.bank_entries
        post = self.repository.get_post_context(updated.post_id)
        return decision_bank_change(self.policy, previous, updated, post.facts if post else None, now)

    def _get(self, case_id: str) -> Case:
        return self.repository.get_case(case_id)

    @staticmethod
    def _check_version(case: Case, seen: int) -> None:
        if case.version != seen:
            raise VersionConflict("the case changed since you saw it", current=case)

    def _appeal_deadline(self, case: Case) -> datetime | None:
        if case.decided_at is None:
            return None
        return case.decided_at + timedelta(days=self.policy.appeal_window_days)

    def _appeal_refusal(self, case: Case, role: str) -> str | None:
        """Why this party may not appeal now, or None."""
        if (
            case.decision is None
            or case.decided_at is None
            or case.state not in (CaseState.ACTIONED, CaseState.DISMISSED)
        ):
            return "there is no decision to appeal"
        if role == "author" and case.state != CaseState.ACTIONED:
            return "the author can appeal a removal"
        if role == "reporter" and case.state != CaseState.DISMISSED:
            return "a reporter can appeal a decision to take no action"
        if case.decided_at in case.appealed_decisions:
            return "this decision was already appealed"
        deadline = self._appeal_deadline(case)
        if deadline is not None and self.clock() > deadline:
            return "the appeal window has closed"
        return None

    def _person_decision(self, case: Case, outcome: Outcome, rule_id: str, now: datetime) -> Decision:
        _, post, accounts, _ = self.repository.load_evaluation_inputs(
            case.case_id, case.post_id, [case.author_id] if case.author_id else []
        )
        author = accounts.get(post.facts.author_id) if post else None
        strikes = self.repository.strikes_of(post.facts.author_id) if post else []
        facts = CaseFacts(
            case_id=case.case_id,
            category=case.category,
            # a case opened by a bank match has no report: the person decides on the post itself
            reports=case.key_reports or (_DETECTED,),
            post=post.facts if post else None,
            author=author.facts if author else None,
            author_strikes=tuple(strikes),
            now=now,
        )
        try:
            return decide_by_person(facts, outcome, rule_id, self.policy)
        except RuleNotApplicable as exc:
            raise RuleRejected(str(exc)) from None

    def _apply_decision(
        self, case: Case, decision: Decision, actor: str, now: datetime, event_type: EventType, data: dict[str, Any]
    ) -> tuple[Case, list[CaseEvent], list[tuple[str, Strike]], int | None]:
        """The case after a person's decision, its events, and the strike a removal issues."""
        target = CaseState.ACTIONED if decision.outcome == Outcome.REMOVE else CaseState.DISMISSED
        check_move(case.state, target)
        version = case.version + 1
        events = [
            CaseEvent(
                case_id=case.case_id,
                seq=version,
                type=event_type,
                at=now,
                actor=actor,
                data={
                    **data,
                    "outcome": decision.outcome.value,
                    "rule_ids": list(decision.rule_ids),
                    "policy_version": decision.policy_version,
                    "automated": False,
                },
            )
        ]
        strikes: list[tuple[str, Strike]] = []
        enforcement_seq: int | None = None
        author_id = case.author_id
        if decision.outcome == Outcome.REMOVE and author_id:
            version += 1
            enforcement_seq = version
            events.append(
                CaseEvent(
                    case_id=case.case_id,
                    seq=version,
                    type=EventType.ENFORCEMENT_APPLIED,
                    at=now,
                    actor=actor,
                    data={
                        "enforcement": decision.enforcement.value,
                        "measures": list(MEASURES[decision.enforcement]),
                        "account_id": author_id,
                        "strike": decision.issues_strike,
                    },
                )
            )
            if decision.issues_strike:
                strikes.append(
                    (
                        author_id,
                        Strike(
                            case_id=case.case_id,
                            category=case.category,
                            rule_id=decision.rule_ids[0],
                            issued_at=now,
                            expires_at=now + timedelta(days=self.policy.strike_expiry_days),
                        ),
                    )
                )
        updated = case.model_copy(
            update={
                "state": target,
                "version": version,
                "updated_at": now,
                "decision": decision,
                "decided_at": now,
                "decided_by": actor,
                "review_priority": None,
                "review_due_at": None,
                "queued_at": None,
                "claimed_by": None,
                "claim_expires_at": None,
                "measures_active": MEASURES[decision.enforcement] if enforcement_seq else (),
                "due_kind": None,
                "due_at": None,
            }
        )
        return updated, events, strikes, enforcement_seq

    def _staff_view(self, case: Case) -> api.CaseView:
        return api.CaseView(
            case=summary(case),
            decision=decision_view(case, staff=True),
            measures_active=list(case.measures_active),
            appeal_deadline=self._appeal_deadline(case),
        )
