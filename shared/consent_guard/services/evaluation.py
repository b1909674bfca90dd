"""Evaluation: a report (or a re-opened case) goes through the policy engine; the decision is recorded on the case
with its events and what it owes (notifications, enforcement events: the outbox) in one transaction.

Redelivery is safe: a report already taken into its case is not counted twice, and its effects were stored with
it, delivered at least once with stable ids by the effects function.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from consent_guard.cases import PENDING_STATES, STATE_FOR_OUTCOME, can_move
from consent_guard.errors import NotFound, VersionConflict
from consent_guard.ids import case_id_for
from consent_guard.models import items as it
from consent_guard.models.domain import (
    AccountContext,
    Case,
    CaseEvent,
    CaseFacts,
    CaseState,
    Category,
    Decision,
    Enforcement,
    EventType,
    Outcome,
    Relationship,
    Report,
    ReporterFacts,
    ReportFacts,
    ReportStatus,
    Strike,
)
from consent_guard.models.effects import Outbox
from consent_guard.models.messages import CaseReevaluation, PostDeleted, ReportSubmitted
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import evaluate_case
from consent_guard.repository import CaseChange
from consent_guard.repository.context import EvaluationInputs
from consent_guard.repository.outbox import EMBEDDED
from consent_guard.services.banking import decision_bank_change
from consent_guard.services.effects import MEASURES, UNDO, CaseWorkflow
from consent_guard.services.statements import pending_statement
from consent_guard.services.stats_effects import with_notice_stats
from consent_guard.services.timers import with_timer
from consent_guard.statement_config import statement_settings

RELATIONSHIP_RANK = {Relationship.SELF: 2, Relationship.AUTHORIZED_REPRESENTATIVE: 1, Relationship.OTHER: 0}
MAX_ATTEMPTS = 4  # optimistic-concurrency retries when another evaluation changed the case first


def _first_person_attested(report: ReportFacts) -> bool:
    a = report.attestations
    if report.relationship == Relationship.SELF:
        return a.information_is_mine and a.not_published_elsewhere
    if report.relationship == Relationship.AUTHORIZED_REPRESENTATIVE:
        return a.representative_authority and bool(report.represented_account_id)
    return False


def _signature(report: ReportFacts) -> tuple[str, bool, bool, bool]:
    return (report.relationship.value, _first_person_attested(report), report.live_location, report.trusted_flagger)


def is_key_report(report: ReportFacts, key_reports: Iterable[ReportFacts]) -> bool:
    """A report that can change the decision: a relationship, attestation or priority flag not seen yet."""
    return _signature(report) not in {_signature(k) for k in key_reports}


def strongest(reports: Iterable[ReportFacts]) -> ReportFacts:
    return max(reports, key=lambda r: (RELATIONSHIP_RANK[r.relationship], _first_person_attested(r)))


def person_concerned_id(reports: Iterable[ReportFacts]) -> str | None:
    best = strongest(reports)
    if best.relationship == Relationship.SELF:
        return best.reporter_id
    if best.relationship == Relationship.AUTHORIZED_REPRESENTATIVE:
        return best.represented_account_id
    return None


def _same_decision(a: Decision | None, b: Decision) -> bool:
    return a is not None and (a.outcome, a.enforcement, a.rule_ids, a.review_priority) == (
        b.outcome,
        b.enforcement,
        b.rule_ids,
        b.review_priority,
    )


def _review_due(case: Case | None, target: CaseState, decision: Decision, now: datetime) -> datetime | None:
    """The review deadline: set on entering review; a more urgent re-evaluation can only bring it forward."""
    if target != CaseState.IN_REVIEW or not decision.review_sla_hours:
        return None
    due = now + timedelta(hours=decision.review_sla_hours)
    if case is not None and case.state == CaseState.IN_REVIEW and case.review_due_at:
        return min(case.review_due_at, due)
    return due


class EvaluationService(CaseWorkflow):
    # ------------------------------------------------------------ entry points

    def handle(self, message: ReportSubmitted | CaseReevaluation | PostDeleted) -> None:
        if isinstance(message, ReportSubmitted):
            self.handle_report_submitted(message)
        elif isinstance(message, CaseReevaluation):
            self.handle_case_reevaluation(message.case_id, message.reason)
        else:
            self.handle_post_deleted(message.post_id)

    def handle_post_deleted(self, post_id: str) -> None:
        """Pending cases of the post are re-evaluated; a lock that waited for the deletion is lifted."""
        cases = self.repository.get_cases(case_id_for(post_id, c) for c in Category)
        for case in cases:
            if case.state in PENDING_STATES:
                self.handle_case_reevaluation(case.case_id, "post_deleted")
            elif "account.lock" in case.measures_active:
                self._lift_lock(case, "post_deleted")

    def _lift_lock(self, case: Case, reason: str) -> None:
        try:
            updated = self.change_with_event(
                case,
                self.clock(),
                "platform",
                EventType.ENFORCEMENT_LIFTED,
                {"measures": ["account.lock"], "reason": reason},
                # the unlock and the author's notice are stored with the lift: a failed publish cannot lose them
                effects=lambda lifted: self.effects.after_lock_lifted(lifted, lifted.version, reason),
                measures_active=tuple(m for m in case.measures_active if m != "account.lock"),
            )
        except VersionConflict:
            # someone changed the case meanwhile: read it again and decide again
            self.handle_post_deleted(case.post_id)
            return
        logger.info("lock lifted", case_id=case.case_id, reason=reason, version=updated.version)

    def handle_report_submitted(self, message: ReportSubmitted) -> None:
        for attempt in range(MAX_ATTEMPTS):
            report, inputs = self._read_report(message)
            try:
                self._take_report(report, inputs)
                return
            except VersionConflict:
                logger.info("case changed concurrently; evaluating again", case_id=report.case_id, attempt=attempt)
                if attempt == MAX_ATTEMPTS - 1:
                    raise

    def _read_report(self, message: ReportSubmitted) -> tuple[Report, EvaluationInputs]:
        """The report with its case, post and reporter: one batch read when the message says where the report
        belongs (checked against the report itself), else the report first and the rest after it."""
        if message.case_id and message.post_id and message.reporter_id:
            inputs = self.repository.load_inputs(
                report_id=message.report_id,
                case_id=message.case_id,
                post_id=message.post_id,
                account_ids=[message.reporter_id],
                standing_ids=[message.reporter_id],
            )
            report = inputs.report
            if report is None:
                raise NotFound("report not found")
            if (report.case_id, report.post_id, report.reporter_id) == (
                message.case_id,
                message.post_id,
                message.reporter_id,
            ):
                return report, inputs
            logger.warning("report message's hints do not match the report; read again", report_id=report.report_id)
        else:
            report = self.repository.get_report(message.report_id, consistent=True)
        inputs = self.repository.load_inputs(
            case_id=report.case_id,
            post_id=report.post_id,
            account_ids=[report.reporter_id],
            standing_ids=[report.reporter_id],
        )
        return report, inputs

    def handle_case_reevaluation(self, case_id: str, reason: str) -> None:
        for attempt in range(MAX_ATTEMPTS):
            try:
                case = self.repository.get_case(case_id)
            except NotFound:
                logger.warning("re-evaluation of an unknown case ignored", case_id=case_id)
                return
            if case.state not in PENDING_STATES:
                logger.info("case no longer pending; nothing to re-evaluate", case_id=case_id, state=case.state.value)
                return
            if case.detection is not None:
                # opened by a bank match and waiting for a moderator: no report-based evaluation decides it
                logger.info("case opened by a bank match stays with its moderator", case_id=case_id)
                return
            try:
                self._reevaluate(case, trigger=None, reason=reason)
                return
            except VersionConflict:
                logger.info("case changed concurrently; re-evaluating again", case_id=case_id, attempt=attempt)
                if attempt == MAX_ATTEMPTS - 1:
                    raise

    # ------------------------------------------------------------ the work

    def _fold(self, report: Report, case: Case | None, now: datetime) -> None:
        """Take a report into a case that does not change; what it is owed is stored with it."""
        # the report item carries its own outbox: one conditional UpdateItem, no transaction (storms fold)
        outbox = Outbox(
            outbox_id=f"{EMBEDDED}{report.report_id}", effects=tuple(self.effects.for_folded_report(report, case))
        )
        outbox = with_notice_stats(outbox, report)  # the notice counted (services/stats_effects.py)
        if self.repository.mark_report_evaluated(report.report_id, now, outbox):
            self.announcer.announce(outbox)
        else:
            logger.info("report folded concurrently", report_id=report.report_id)

    def _take_report(self, report: Report, inputs: EvaluationInputs) -> None:
        if report.status == ReportStatus.EVALUATED:
            # redelivered after the report was taken in: what it was owed was stored with it (the outbox)
            logger.info("report already evaluated; nothing left to do", report_id=report.report_id)
            return
        case = inputs.case
        if case is None:
            self._reevaluate(None, trigger=report, reason="first_report", inputs=inputs)
            return
        if case.state in PENDING_STATES and case.detection is None and is_key_report(report.facts(), case.key_reports):
            self._reevaluate(case, trigger=report, reason="new_report", inputs=inputs)
            return
        if (
            case.state == CaseState.CLOSED
            and case.closed_reason == "insufficient_report"
            and _first_person_attested(report.facts())
        ):
            self._reevaluate(case, trigger=report, reason="first_person_after_closure", inputs=inputs)
            return
        # the case already knows everything this report could tell it: fold it without writing the case
        self._fold(report, case, self.clock())
        metrics.add_metric(name="ReportsFolded", unit=MetricUnit.Count, value=1)
        logger.info("report folded into case", report_id=report.report_id, case_id=case.case_id)

    def _reevaluate(
        self, case: Case | None, trigger: Report | None, reason: str, inputs: EvaluationInputs | None = None
    ) -> None:
        now = self.clock()
        key_reports = list(case.key_reports) if case else []
        if trigger is not None and is_key_report(trigger.facts(), key_reports):
            # an amended report (relationship, confirmations added) replaces what it said before
            key_reports = [k for k in key_reports if k.report_id != trigger.report_id] + [trigger.facts()]
        if not key_reports:
            raise NotFound("case has no reports")
        case_id = case.case_id if case else trigger.case_id  # type: ignore[union-attr]
        post_id = case.post_id if case else trigger.post_id  # type: ignore[union-attr]
        category = case.category if case else trigger.category  # type: ignore[union-attr]
        concerned_id = person_concerned_id(key_reports)
        first_person = [r for r in key_reports if r.relationship != Relationship.OTHER]
        claimants = sorted(
            {r.reporter_id for r in first_person}
            | {r.represented_account_id for r in first_person if r.represented_account_id}
            | ({concerned_id} if concerned_id else set())
        )

        first_person_ids = sorted({r.reporter_id for r in first_person})
        if inputs is None or inputs.case is not case:
            # not read with this case: read it again with the rest (the transaction's version guard is the check
            # that counts; this one saves deciding on a stale case)
            inputs = self.repository.load_inputs(
                case_id=case_id, post_id=post_id, account_ids=claimants, standing_ids=first_person_ids
            )
            if (inputs.case.version if inputs.case else None) != (case.version if case else None):
                raise VersionConflict("the case changed while it was read")
        post = inputs.post
        accounts, standings = dict(inputs.accounts), dict(inputs.standings)
        # the second batch: the post's author and media (known only from the post) and whoever the first
        # batch did not ask for (the case's other key reporters, a represented account, the person concerned)
        wanted_accounts = set(claimants) | ({post.facts.author_id} if post else set())
        more = self.repository.load_inputs(
            account_ids=sorted(wanted_accounts - inputs.asked_accounts),
            media_ids=[m.media_id for m in post.facts.media] if post else (),
            standing_ids=sorted(set(first_person_ids) - inputs.asked_standings),
        )
        accounts.update(more.accounts)
        standings.update(more.standings)
        media = more.media
        author: AccountContext | None = None
        strikes: list[Strike] = []
        if post is not None:
            author = accounts.get(post.facts.author_id)
            strikes = self.repository.strikes_of(post.facts.author_id)

        facts = CaseFacts(
            case_id=case_id,
            category=category,
            reports=tuple(key_reports),
            post=post.facts if post else None,
            author=author.facts if author else None,
            person_concerned=accounts[concerned_id].facts if concerned_id and concerned_id in accounts else None,
            media=tuple(media[m.media_id] for m in post.facts.media if m.media_id in media) if post else (),
            author_strikes=tuple(s for s in strikes if s.case_id != case_id),
            reporters=self._reporter_facts(first_person_ids, accounts, standings, now),
            accounts=tuple(accounts[a].facts for a in claimants if a in accounts),
            now=now,
        )
        decision = evaluate_case(facts, self.policy)
        metrics.add_metric(name=f"Decision_{decision.outcome.value}", unit=MetricUnit.Count, value=1)

        target = STATE_FOR_OUTCOME[decision.outcome]
        current_state = case.state if case else None
        if case is not None and target != case.state and not can_move(case.state, target):
            logger.warning(
                "decision would make an illegal move; case kept for a human",
                case_id=case_id,
                state=case.state.value,
                target=target.value,
            )
            target = case.state
            if case.decision is not None:
                # the case keeps the decision that put it where it is (e.g. a case sent to review after waiting
                # 72 hours for the post's facts stays in review, with its priority and deadline)
                decision = case.decision
        changed = case is None or target != case.state or not _same_decision(case.decision, decision)
        key_added = case is None or len(key_reports) != len(case.key_reports)
        if not changed and not key_added:
            if trigger is not None:
                self._fold(trigger, case, now)
            return

        version = case.version if case else 0
        events: list[CaseEvent] = []
        # no "reported" event per report: the report item is that record, so a storm never writes the case partition
        version += 1
        events.append(
            CaseEvent(
                case_id=case_id,
                seq=version,
                type=EventType.EVALUATED,
                at=now,
                actor="system",
                data={
                    "reason": reason,
                    "report_id": trigger.report_id if trigger else None,
                    "from_state": current_state.value if current_state else None,
                    "to_state": target.value,
                    "outcome": decision.outcome.value,
                    "enforcement": decision.enforcement.value,
                    "rule_ids": list(decision.rule_ids),
                    "exceptions": [e.exception_id for e in decision.exceptions_considered if e.applies],
                    "policy_version": decision.policy_version,
                    "automated": decision.automated,
                },
            )
        )
        decided = target in (CaseState.ACTIONED, CaseState.DISMISSED) and target != current_state
        strikes_new: list[tuple[str, Strike]] = []
        enforcement_seq: int | None = None
        # a case sent to a person for a suspension has its post hidden meanwhile (PIM-A4): once, on the way in
        hidden_meanwhile = (
            target == CaseState.IN_REVIEW
            and decision.enforcement == Enforcement.HIDE_CONTENT
            and post is not None
            and "content.hide" not in (case.measures_active if case else ())
        )
        if (decided and decision.outcome == Outcome.REMOVE and post is not None) or hidden_meanwhile:
            assert post is not None
            version += 1
            enforcement_seq = version
            events.append(
                CaseEvent(
                    case_id=case_id,
                    seq=version,
                    type=EventType.ENFORCEMENT_APPLIED,
                    at=now,
                    actor="system",
                    data={
                        "enforcement": decision.enforcement.value,
                        "measures": list(MEASURES[decision.enforcement]),
                        "account_id": post.facts.author_id,
                        "strike": decision.issues_strike,
                    },
                )
            )
            if decision.issues_strike:
                strikes_new.append(
                    (
                        post.facts.author_id,
                        Strike(
                            case_id=case_id,
                            category=category,
                            rule_id=decision.rule_ids[0],
                            issued_at=now,
                            expires_at=now + timedelta(days=self.policy.strike_expiry_days),
                        ),
                    )
                )

        # a case escalated for its review deadline stays at the top of the queue while it waits in review
        stays_in_review = case is not None and case.state == CaseState.IN_REVIEW and target == CaseState.IN_REVIEW
        escalated_at = case.escalated_at if case is not None and stays_in_review else None
        measures: tuple[str, ...] = ()
        if enforcement_seq is not None:
            measures = MEASURES[decision.enforcement]
        elif case is not None and (stays_in_review or target == case.state):
            measures = case.measures_active
        lifted = [m for m in (case.measures_active if case else ()) if m not in measures]
        lifted_seq: int | None = None
        if lifted:
            # e.g. a post hidden while a person reviews, then kept by a re-evaluation: the platform restores it
            version += 1
            lifted_seq = version
            events.append(
                CaseEvent(
                    case_id=case_id,
                    seq=version,
                    type=EventType.ENFORCEMENT_LIFTED,
                    at=now,
                    actor="system",
                    data={"measures": lifted, "reason": "re_evaluated"},
                )
            )
        new_case = Case(
            case_id=case_id,
            post_id=post_id,
            category=category,
            state=target,
            version=version,
            created_at=case.created_at if case else now,
            updated_at=now,
            author_id=post.facts.author_id if post else (case.author_id if case else None),
            decision=decision,
            decided_at=now if decided else (case.decided_at if case else None),
            decided_by="system" if decided else (case.decided_by if case else "system"),
            key_reports=tuple(key_reports),
            review_priority=(0 if escalated_at else decision.review_priority)
            if target == CaseState.IN_REVIEW
            else None,
            review_due_at=_review_due(case, target, decision, now),
            escalated_at=escalated_at,
            queued_at=(case.queued_at if case and case.state == CaseState.IN_REVIEW else now)
            if target == CaseState.IN_REVIEW
            else None,
            measures_active=measures,
        )
        new_case = with_timer(new_case, case, now, self.policy)
        bank_change = None
        if decided:
            bank_change, owned = decision_bank_change(self.policy, case, new_case, post.facts if post else None, now)
            new_case = new_case.model_copy(update={"bank_entries": owned})
        statements = (
            [pending_statement(new_case, enforcement_seq, post.facts, self.policy, statement_settings(), now)]
            if enforcement_seq is not None and post is not None
            else []
        )
        effects = self.effects.after_decision(new_case, trigger, current_state, enforcement_seq)
        if lifted_seq is not None:
            effects += self.effects.platform_events(new_case, f"{case_id}:{lifted_seq}", [UNDO[m] for m in lifted])
        self.save(
            CaseChange(
                case=new_case,
                expected_version=case.version if case else None,
                events=events,
                reports_evaluated=[(trigger.report_id, now)] if trigger else [],
                strikes=strikes_new,
                outbox=self.outbox(new_case, effects),
                statements=statements,
                bank=bank_change,
            ),
            before=case,
            notices=[trigger] if trigger else [],
        )
        logger.info(
            "case evaluated",
            case_id=case_id,
            state=target.value,
            outcome=decision.outcome.value,
            rule_ids=list(decision.rule_ids),
            version=version,
        )

    def _reporter_facts(
        self,
        reporter_ids: list[str],
        accounts: dict[str, AccountContext],
        standings: dict[str, it.Item],
        now: datetime,
    ) -> tuple[ReporterFacts, ...]:
        """Standing (DSA Art. 23) and track record of the first-person reporters, for what their claim can bear."""
        if not reporter_ids:
            return ()
        since = it.iso(now - timedelta(days=self.policy.reporter_misuse.window_days))
        facts = []
        for reporter_id in reporter_ids:
            stored = standings.get(reporter_id) or {}
            unfounded = [t for t in json.loads(str(stored.get("unfounded", "[]"))) if t >= since]
            warned = str(stored.get("warned_at") or "") >= since or str(stored.get("suspended_until") or "") > since
            account = accounts.get(reporter_id)
            facts.append(
                ReporterFacts(
                    reporter_id=reporter_id,
                    account=account.facts if account else None,
                    unfounded_recent=len(unfounded),
                    warned=warned,
                    upheld=int(stored.get("upheld", 0)),
                )
            )
        return tuple(facts)
