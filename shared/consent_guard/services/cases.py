"""What moderators, appeal reviewers, admins and authors do with cases: queues, claims, decisions, appeals.

Every change is one version-guarded transaction (status item + appended events + strikes); the loser of a race
gets a 409 with the winner's state. Decisions by people run the same enforcement ladder as automated ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from consent_guard.auth import Group, Principal
from consent_guard.cases import check_move
from consent_guard.cursors import CursorSigner
from consent_guard.errors import Conflict, Forbidden, IllegalTransition, InvalidRequest, NotFound, VersionConflict
from consent_guard.ids import digest
from consent_guard.models import api
from consent_guard.models import items as it
from consent_guard.models.domain import (
    Appeal,
    Attestations,
    Case,
    CaseEvent,
    CaseFacts,
    CaseState,
    Category,
    Decision,
    EventType,
    Outcome,
    Relationship,
    Report,
    ReportFacts,
    Strike,
)
from consent_guard.models.tdb import PendingStatement
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import RuleNotApplicable, citable_rules, decide_by_person
from consent_guard.repository import CaseChange
from consent_guard.repository.bank import BankChange
from consent_guard.repository.statements import StatementRepository
from consent_guard.services.banking import decision_bank_change
from consent_guard.services.effects import MEASURES, UNDO, CaseWorkflow, unfounded_effect
from consent_guard.services.statements import pending_statement
from consent_guard.services.timers import with_timer
from consent_guard.statement_config import statement_settings

STAFF = (Group.MODERATORS, Group.APPEALS, Group.ADMINS)
REPORTS_PAGE = 50  # reports in a case's view; the rest page through GET /cases/{case_id}/reports
REPORTS_CURSOR_KEY = "position"  # the signed cursor of a case's reports holds the repository's position in its shards
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


class ConflictOfInterest(Forbidden):
    """The caller is a party to the case (its author, a reporter, the appellant) or made the decision appealed."""

    code = "conflict_of_interest"


def author_may_see(case: Case) -> bool:
    """The author sees a case once a decision affects them: a measure is in force, one was decided (they were sent
    a statement of reasons), or an appeal was heard (they were told its outcome). Before that, 404 like anyone."""
    return bool(
        case.measures_active
        or case.appealed_decisions
        or (case.decision is not None and case.decided_at is not None and case.decision.enforcement.value != "none")
    )


def summary(case: Case, report_count: int | None = None) -> api.CaseSummary:
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
        trusted_flagger=any(r.trusted_flagger for r in case.key_reports),
        report_count=report_count,
    )


def report_view(r: Report) -> api.StaffReportView:
    return api.StaffReportView(
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


QUEUE_KEYS = frozenset({"LSK"})  # a queue position: the sort key the merge of its partitions reached


class CaseService(CaseWorkflow):
    cursors: CursorSigner | None = None  # set by the case API's factory (the key comes from its configuration)

    # ------------------------------------------------------------ reading

    @staticmethod
    def _work_queue(principal: Principal, queue: str) -> str:
        if queue == "review":
            principal.require_group(Group.MODERATORS, Group.ADMINS)
            return it.REVIEW_QUEUE
        principal.require_group(Group.APPEALS, Group.ADMINS)
        return it.APPEALS_QUEUE

    def queue(
        self, principal: Principal, queue: str, limit: int, cursor: str | None, category: str | None = None
    ) -> api.CasePage:
        """A page of a work queue. The cursor is signed for this caller and this query (consent_guard.cursors)."""
        work_queue = self._work_queue(principal, queue)
        if self.cursors is None:
            raise RuntimeError("CaseService.cursors is not configured")
        binding = f"{principal.subject}\n/cases\n{queue}\n{category or ''}"
        start = self.cursors.decode(cursor, binding, QUEUE_KEYS)
        after = str(start["LSK"]["S"]) if start else None
        cases, position = self.repository.queue(work_queue, limit, after, category)
        counts = self.repository.report_counts(c.case_id for c in cases)
        next_key = {"LSK": {"S": position}} if position else None
        return api.CasePage(
            items=[summary(c, counts.get(c.case_id)) for c in cases], next_cursor=self.cursors.encode(next_key, binding)
        )

    def queue_counts(self, principal: Principal, queue: str) -> api.QueueCounts:
        counts = self.repository.queue_counts(self._work_queue(principal, queue), self.clock())
        return api.QueueCounts(
            queue=queue,
            total=sum(c["cases"] for c in counts.values()),
            overdue=sum(c["overdue"] for c in counts.values()),
            categories={k: api.QueueCategoryCount(**v) for k, v in sorted(counts.items())},
        )

    def policy_rules(self, principal: Principal, category: Category) -> api.PolicyRules:
        """The rules a person may cite on a case of `category`, per outcome, with the text the author would read."""
        principal.require_group(*STAFF)
        index = self.policy.index
        return api.PolicyRules(
            policy_version=self.policy.version,
            category=category.value,
            outcomes={
                outcome.value: [
                    api.CitableRule(rule_id=r, heading=index.headings[r], text=index.texts[r])
                    for r in citable_rules(category, outcome, self.policy)
                ]
                for outcome in (Outcome.REMOVE, Outcome.NO_VIOLATION)
            },
        )

    def preview_decision(
        self, principal: Principal, case_id: str, request: api.DecisionPreviewRequest
    ) -> api.DecisionPreview:
        """The decision a person would make, with its statement of reasons, computed exactly as deciding would;
        nothing is stored."""
        principal.require_group(*STAFF)
        case = self._get(case_id)
        decision = self._person_decision(case, Outcome(request.outcome), request.rule_id, self.clock())
        return api.DecisionPreview(
            outcome=decision.outcome.value,
            enforcement=decision.enforcement.value,
            issues_strike=decision.issues_strike,
            rule_ids=list(decision.rule_ids),
            policy_version=decision.policy_version,
            statement_of_reasons=decision.statement_of_reasons,
        )

    def record_media_view(self, principal: Principal, case_id: str, request: api.MediaViewRequest) -> api.MediaViewed:
        """A staff member revealed one media item of the case's post: recorded as a case event (who, when) in the
        case's own guarded transaction, retried over concurrent changes so no view goes unrecorded."""
        principal.require_group(*STAFF)
        for _ in range(3):
            case = self._get(case_id)
            post = self.repository.get_post_context(case.post_id)
            if post is None or request.media_id not in {m.media_id for m in post.facts.media}:
                raise NotFound("media not found")
            now = self.clock()
            try:
                updated = self.change_with_event(
                    case, now, principal.subject, EventType.MEDIA_VIEWED, {"media_id": request.media_id}
                )
            except VersionConflict:
                continue
            logger.info("media viewed", case_id=case.case_id, version=updated.version)
            return api.MediaViewed(
                case_id=case.case_id,
                media_id=request.media_id,
                viewed_by=principal.subject,
                viewed_at=now,
                version=updated.version,
            )
        raise VersionConflict("the case kept changing; try again")

    def view(self, principal: Principal, case_id: str) -> api.CaseView:
        case = self._get(case_id)
        # staff who wrote the post read it as its author: a party never sees who reported or handled their case
        staff = any(principal.in_group(g) for g in STAFF) and principal.subject != case.author_id
        if not staff and (principal.subject != case.author_id or not author_may_see(case)):
            # reporters read their reports; the author once a decision affects them; anyone else learns nothing
            raise NotFound("case not found")
        shown = summary(case)
        if not staff:
            # need to know: the author never learns who handled the case, nor its place in the queue
            shown = shown.model_copy(
                update={
                    "claimed_by": None,
                    "claim_expires_at": None,
                    "review_priority": None,
                    "queued_at": None,
                    "review_due_at": None,
                }
            )
        view = api.CaseView(
            case=shown,
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
        reports, reports_cursor = self.repository.case_reports_page(case.case_id, REPORTS_PAGE, None)
        reports_cursor = self._sign_reports_cursor(principal, case.case_id, reports_cursor)
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
        author_id = post.facts.author_id if post else case.author_id
        strikes = self.repository.strikes_of(author_id) if author_id else []
        statements = StatementRepository(self.repository.table_name, self.repository.client).of_case(case.case_id)
        return view.model_copy(
            update={
                "author_strikes": [
                    api.StrikeView(
                        case_id=s.case_id,
                        category=s.category.value,
                        rule_id=s.rule_id,
                        issued_at=s.issued_at,
                        expires_at=s.expires_at,
                    )
                    for s in sorted(strikes, key=lambda s: s.issued_at)
                ],
                "failed_notifications": failures,
                "detection": api.DetectionView(
                    source=case.detection.source,
                    matches=[m.model_dump(mode="json") for m in case.detection.matches],
                )
                if case.detection
                else None,
                "statements": [
                    api.StatementView(
                        puid=s.puid,
                        decision_seq=s.seq,
                        status=s.status.value,
                        tdb_uuid=s.tdb_uuid,
                        permalink=s.permalink,
                        submitted_at=s.submitted_at,
                        rejected_fields=list(s.rejected_fields),
                    )
                    for s in statements
                ],
                "reports": [report_view(r) for r in reports],
                "reports_next_cursor": reports_cursor,
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

    def reports(self, principal: Principal, case_id: str, limit: int, cursor: str | None) -> api.ReportPage:
        """A page of the case's reports, for staff (who see the case's reports in its view). Whoever cannot see the
        case learns nothing (404); the author sees the case, not who reported it (403)."""
        case = self._get(case_id)
        if not any(principal.in_group(g) for g in STAFF):
            if principal.subject != case.author_id:
                raise NotFound("case not found")
            raise Forbidden("reports are seen by staff")
        position = self._open_reports_cursor(principal, case.case_id, cursor)
        reports, next_cursor = self.repository.case_reports_page(case.case_id, limit, position)
        return api.ReportPage(
            items=[report_view(r) for r in reports],
            next_cursor=self._sign_reports_cursor(principal, case.case_id, next_cursor),
        )

    def _reports_binding(self, principal: Principal, case_id: str) -> tuple[CursorSigner, str]:
        if self.cursors is None:
            raise RuntimeError("CaseService.cursors is not configured")
        return self.cursors, f"{principal.subject}\n/cases/{case_id}/reports"

    def _sign_reports_cursor(self, principal: Principal, case_id: str, position: str | None) -> str | None:
        """The repository's position in the case's report shards, signed for this caller and this case."""
        signer, binding = self._reports_binding(principal, case_id)
        return signer.encode({REPORTS_CURSOR_KEY: {"S": position}} if position else None, binding)

    def _open_reports_cursor(self, principal: Principal, case_id: str, cursor: str | None) -> str | None:
        """The position of a cursor this caller was given for this case; InvalidCursor (400) otherwise."""
        signer, binding = self._reports_binding(principal, case_id)
        key = signer.decode(cursor, binding, frozenset({REPORTS_CURSOR_KEY}))
        return str(key[REPORTS_CURSOR_KEY]["S"]) if key else None

    # ------------------------------------------------------------ moderators

    def claim(self, principal: Principal, case_id: str) -> api.CaseSummary:
        """Assign the case to the caller for the policy's claim time, so two people don't work the same case.

        Whoever cannot see cases gets 404 whether or not the case exists. A refused claim records nothing, so it
        never blocks the people who may take the case."""
        if not any(principal.in_group(g) for g in STAFF):
            raise NotFound("case not found")
        case = self._get(case_id)
        if case.state == CaseState.APPEALED:
            principal.require_group(Group.APPEALS)
        elif case.state == CaseState.IN_REVIEW:
            principal.require_group(Group.MODERATORS)
        else:
            principal.require_group(Group.MODERATORS, Group.APPEALS)
            raise IllegalTransition("only cases waiting for a person can be claimed", current_state=case.state)
        self.refuse_conflicts(principal, case)
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
        principal.require_group(Group.MODERATORS)  # moderators only: admins do not decide review cases
        case = self._get(case_id)
        self.refuse_conflicts(principal, case)
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
        lifted = [m for m in case.measures_active if m not in updated.measures_active]
        if lifted:
            # the post was hidden while the moderator reviewed it (PIM-A4) and is kept: the platform restores it
            updated = updated.model_copy(update={"version": updated.version + 1})
            events.append(
                CaseEvent(
                    case_id=case.case_id,
                    seq=updated.version,
                    type=EventType.ENFORCEMENT_LIFTED,
                    at=now,
                    actor=principal.subject,
                    data={"measures": lifted, "reason": "decided_no_violation"},
                )
            )
        updated = with_timer(updated, case, now, self.policy)
        bank, owned = self._bank_change(case, updated, now)
        updated = updated.model_copy(update={"bank_entries": owned})
        # what the decision owes (outcome to every reporter, the statement of reasons, the platform's measures, and
        # each reporter counted when the reports were manifestly unfounded) is stored with it, in one transaction
        effects = self.effects.after_decision(updated, None, case.state, enforcement_seq)
        if lifted:
            effects += self.effects.platform_events(
                updated, f"{case.case_id}:{updated.version}", [UNDO[m] for m in lifted]
            )
        if request.manifestly_unfounded:
            effects.append(unfounded_effect(updated, now))
        self.save(
            CaseChange(
                case=updated,
                expected_version=case.version,
                events=events,
                strikes=strikes,
                outbox=self.outbox(updated, effects),
                statements=self._statements(updated, enforcement_seq, now),
                bank=bank,
            ),
            before=case,
        )
        metrics.add_metric(name="ModeratorDecisions", unit=MetricUnit.Count, value=1)
        logger.info(
            "case decided by a moderator",
            case_id=case.case_id,
            outcome=decision.outcome.value,
            rule_ids=list(decision.rule_ids),
            version=updated.version,
        )
        if decision.outcome == Outcome.REMOVE and not request.manifestly_unfounded:
            self._count_upheld(case.case_id)
        return self._staff_view(updated)

    # ------------------------------------------------------------ appeals

    def appeal(self, principal: Principal, case_id: str, request: api.AppealRequest) -> api.CaseView:
        """The author appeals a removal (DSA Art. 20), on a case they can see; everyone else gets 404 (a reporter
        appeals through their report: POST /reports/{report_id}/appeals)."""
        principal.require_person()
        case = self._get(case_id)
        if principal.subject != case.author_id or not author_may_see(case):
            raise NotFound("case not found")
        self._file_appeal(principal, case, "author", request)
        return self.view(principal, case_id)

    def appeal_by_report(self, principal: Principal, report_id: str, request: api.AppealRequest) -> api.AppealFiled:
        """A reporter appeals a decision to take no action, through their own report (anyone else: 404)."""
        principal.require_person()
        try:
            report = self.repository.get_report(report_id, consistent=True)
        except NotFound:
            raise NotFound("report not found") from None
        if report.reporter_id != principal.subject:
            raise NotFound("report not found")
        case = self._get(report.case_id)
        updated = self._file_appeal(principal, case, "reporter", request)
        assert updated.appeal is not None
        return api.AppealFiled(
            report_id=report.report_id, case_id=case.case_id, status="under_review", filed_at=updated.appeal.filed_at
        )

    def _file_appeal(self, principal: Principal, case: Case, role: str, request: api.AppealRequest) -> Case:
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
        return updated

    def decide_appeal(self, principal: Principal, case_id: str, request: api.AppealDecisionRequest) -> api.CaseView:
        """Decided by a member of `appeals` who did not make the decision appealed; never by automation."""
        principal.require_group(Group.APPEALS)
        case = self._get(case_id)
        self.refuse_conflicts(principal, case)
        self._check_version(case, request.version)
        if case.state != CaseState.APPEALED or case.appeal is None:
            raise IllegalTransition("the case has no open appeal", current_state=case.state)
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
        self.save(
            CaseChange(
                case=updated,
                expected_version=case.version,
                events=events,
                strikes=strikes,
                strikes_removed=strikes_removed,
                outbox=self.outbox(updated, self.effects.after_appeal(updated, events[0].seq, lifted, applied_seq)),
                statements=self._statements(updated, applied_seq, now),
                bank=bank,
            ),
            before=case,
        )
        metrics.add_metric(name=f"Appeal_{request.result}", unit=MetricUnit.Count, value=1)
        if updated.state == CaseState.ACTIONED and case.appeal.previous_state != CaseState.ACTIONED:
            self._count_upheld(case.case_id)
        logger.info("appeal decided", case_id=case.case_id, result=request.result, state=updated.state.value)
        return self._staff_view(updated)

    # ------------------------------------------------------------ admins

    def set_dedicated_to_exposure(
        self, principal: Principal, account_id: str, request: api.DedicatedExposureRequest
    ) -> api.ContextAccepted:
        principal.require_group(Group.ADMINS)
        self.repository.set_dedicated_to_exposure(account_id, request.dedicated_to_exposure, self.clock())
        logger.info("account marked", account_id=account_id, dedicated_to_exposure=request.dedicated_to_exposure)
        return api.ContextAccepted(id=account_id)

    # ------------------------------------------------------------ conflicts of interest

    def refuse_conflicts(self, principal: Principal, case: Case) -> None:
        """The one rule for every staff action on a case (claim, decide, hear an appeal), whatever the role: nobody
        acts on a case about their own content, on their own report (or one made for them), on an appeal they
        filed, or on the appeal of a decision they made on that case. Raises ConflictOfInterest (403); nothing
        is recorded, so the refusal blocks no one else."""
        subject = principal.subject
        if subject == case.author_id:
            raise ConflictOfInterest("you cannot act on a case about your own content")
        if any(subject in (r.reporter_id, r.represented_account_id) for r in case.key_reports) or (
            self.repository.reported_by(digest("report", subject, case.post_id, case.category))
        ):
            raise ConflictOfInterest("you cannot act on a case you reported")
        if case.appeal is not None:
            if case.appeal.appellant_id == subject:
                raise ConflictOfInterest("you cannot act on your own appeal")
            deciders = {case.decided_by} | {
                e.actor
                for e in self.repository.case_events(case.case_id)
                if e.type in (EventType.DECIDED, EventType.APPEAL_DECIDED, EventType.ESCALATED)
            }
            if subject in deciders:
                raise ConflictOfInterest("an appeal is heard by someone who took no part in the decision")

    def _count_upheld(self, case_id: str) -> None:
        """A person upheld the first-person reports of the case: each reporter's track record counts it once."""
        reporters = {r.reporter_id for r in self.repository.case_reports(case_id) if r.relationship.value != "other"}
        for reporter_id in sorted(reporters):
            self.repository.count_upheld(reporter_id, case_id)

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

    def _statements(self, case: Case, enforcement_seq: int | None, now: datetime) -> list[PendingStatement]:
        """The statement of reasons a restricting decision owes the Transparency Database (none otherwise)."""
        if enforcement_seq is None:
            return []
        post = self.repository.get_post_context(case.post_id)
        return [
            pending_statement(
                case, enforcement_seq, post.facts if post else None, self.policy, statement_settings(), now
            )
        ]

    def _staff_view(self, case: Case) -> api.CaseView:
        return api.CaseView(
            case=summary(case),
            decision=decision_view(case, staff=True),
            measures_active=list(case.measures_active),
            appeal_deadline=self._appeal_deadline(case),
        )
