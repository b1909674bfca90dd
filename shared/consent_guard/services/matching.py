"""Cases consent-guard opens itself: a post whose media matched a hash bank (source: automated detection).

The matching function only proposes candidates (entry ids and distances). Here every entry is re-read from the
table, strongly consistent, at the moment of deciding: a disabled, cleared or withdrawn entry never acts, so a
stale index can cause a review at worst, never a wrong removal. Runs in the evaluation function (no numpy).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from consent_guard.cases import STATE_FOR_OUTCOME
from consent_guard.errors import VersionConflict
from consent_guard.ids import _b32, case_id_for, digest, notification_id_for
from consent_guard.models.domain import (
    Attestations,
    Bank,
    BankMatch,
    Case,
    CaseEvent,
    CaseState,
    Detection,
    Enforcement,
    EventType,
    MatchRef,
    NotificationKind,
    Outcome,
    PostFacts,
    Relationship,
    Report,
    ReportStatus,
    Strike,
)
from consent_guard.models.items import iso
from consent_guard.models.messages import MediaMatched, NotificationRequest
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import MatchAction, MatchCaseFacts, MatchVerdict, decide_match, match_verdict
from consent_guard.repository import CaseChange
from consent_guard.repository.bank import BankRepository
from consent_guard.services.effects import MEASURES, CaseWorkflow, notification_effect
from consent_guard.services.statements import pending_statement
from consent_guard.services.timers import with_timer
from consent_guard.statement_config import statement_settings

_ACTION_RANK = {MatchAction.BLOCK: 2, MatchAction.REVIEW: 1, MatchAction.NONE: 0}


def owner_report_id(case_id: str, entry_id: str) -> str:
    """The report a protected-media owner gets on a case their hash opened: stable, so redelivery adds nothing."""
    return "r_" + _b32(hashlib.sha256(f"protected\x1f{case_id}\x1f{entry_id}".encode()).digest()[:16])


class MatchedMediaCases(CaseWorkflow):
    """Opens (at most once per post and category) the case a bank match calls for."""

    @property
    def banks(self) -> BankRepository:
        return BankRepository(self.repository)

    def verdicts(self, post: PostFacts, message: MediaMatched) -> list[tuple[str, MatchVerdict]]:
        """(media id, verdict) for each media item of the post that had candidates, from entries as stored now."""
        entries = self.banks.entries(c.entry_id for m in message.media for c in m.candidates)
        by_id = {m.media_id: m for m in post.media}
        out: list[tuple[str, MatchVerdict]] = []
        for media in message.media:
            item = by_id.get(media.media_id)
            if item is None or item.signals is None:
                continue  # the platform changed the post since: its current media are matched on their own
            matches = [
                BankMatch(entry=entries[c.entry_id], signal=c.signal, distance=c.distance)
                for c in media.candidates
                if c.entry_id in entries
            ]
            out.append((media.media_id, match_verdict(matches, item.signals.pdq_quality, self.policy)))
        return out

    def handle_media_matched(self, message: MediaMatched) -> None:
        post = self.repository.get_post_context(message.post_id)
        if post is None or post.facts.deleted:
            logger.info("matched post is gone; nothing to open", post_id=message.post_id)
            return
        verdicts = [(m, v) for m, v in self.verdicts(post.facts, message) if v.action is not MatchAction.NONE]
        if not verdicts:
            metrics.add_metric(name="MatchesNotActedOn", unit=MetricUnit.Count, value=1)
            logger.info("no active match calls for action", post_id=message.post_id)
            return
        # the strongest action decides; intimate media before private media
        verdicts.sort(key=lambda mv: (-_ACTION_RANK[mv[1].action], mv[1].category != "intimate_media"))
        media_id, verdict = verdicts[0]
        assert verdict.category is not None
        category = verdict.category
        case_id = case_id_for(message.post_id, category)
        existing, _, accounts, _ = self.repository.load_evaluation_inputs(
            case_id, message.post_id, [post.facts.author_id]
        )
        if existing is not None:
            # already a case for this post and category (reported, or opened by an earlier delivery)
            metrics.add_metric(name="MatchForExistingCase", unit=MetricUnit.Count, value=1)
            logger.info("matched post already has a case", case_id=case_id, state=existing.state.value)
            return
        now = self.clock()
        author = accounts.get(post.facts.author_id)
        strikes = self.repository.strikes_of(post.facts.author_id)
        decision = decide_match(
            MatchCaseFacts(
                case_id=case_id,
                verdict=verdict,
                post=post.facts,
                author=author.facts if author else None,
                author_strikes=tuple(s for s in strikes if s.case_id != case_id),
                now=now,
            ),
            self.policy,
        )
        refs = tuple(
            MatchRef(
                media_id=mid,
                entry_id=m.entry.entry_id,
                bank=m.entry.bank,
                signal=m.signal,
                distance=m.distance,
                origin_case_id=m.entry.origin_case_id,
                origin_decided_at=m.entry.origin_decided_at,
                origin_rule_ids=m.entry.origin_rule_ids,
            )
            for mid, v in verdicts
            if v.category == category
            for m in v.used
        )
        target = STATE_FOR_OUTCOME[decision.outcome]
        decided = target == CaseState.ACTIONED
        version = 1
        events = [
            CaseEvent(
                case_id=case_id,
                seq=version,
                type=EventType.EVALUATED,
                at=now,
                actor="system",
                data={
                    "reason": "media_matched",
                    "source": "automated_detection",
                    "from_state": None,
                    "to_state": target.value,
                    "outcome": decision.outcome.value,
                    "enforcement": decision.enforcement.value,
                    "rule_ids": list(decision.rule_ids),
                    "policy_version": decision.policy_version,
                    "automated": True,
                    # ids and distances only: hashes never go into events
                    "matches": [
                        {"media_id": r.media_id, "entry_id": r.entry_id, "bank": r.bank.value, "signal": r.signal}
                        | {"distance": r.distance}
                        for r in refs
                    ],
                },
            )
        ]
        strikes_new: list[tuple[str, Strike]] = []
        enforcement_seq: int | None = None
        # removed, or hidden while a person decides on the suspension the ladder calls for (PIM-A4)
        hidden_meanwhile = target == CaseState.IN_REVIEW and decision.enforcement is not Enforcement.NONE
        if decided or hidden_meanwhile:
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
        in_review = target == CaseState.IN_REVIEW
        case = Case(
            case_id=case_id,
            post_id=message.post_id,
            category=category,
            state=target,
            version=version,
            created_at=now,
            updated_at=now,
            author_id=post.facts.author_id,
            decision=decision,
            decided_at=now if decided else None,
            decided_by="system",
            review_priority=decision.review_priority if in_review else None,
            review_due_at=now + timedelta(hours=decision.review_sla_hours)
            if in_review and decision.review_sla_hours
            else None,
            queued_at=now if in_review else None,
            measures_active=MEASURES[decision.enforcement] if enforcement_seq is not None else (),
            detection=Detection(matches=refs),
        )
        case = with_timer(case, None, now, self.policy)
        owners = self._protected_owners(refs)
        new_reports = [self._owner_report(case, entry_id, owner, now) for entry_id, owner in owners]
        # what the opening owes (the platform's measures, the statement of reasons, the owners told) is stored with
        # it in one transaction and delivered by the effects function
        effects = self.effects.after_decision(case, None, None, enforcement_seq)
        effects += [notification_effect(self._owner_notice(case, entry_id, owner)) for entry_id, owner in owners]
        statements = (
            [pending_statement(case, enforcement_seq, post.facts, self.policy, statement_settings(), now)]
            if enforcement_seq is not None
            else []
        )
        try:
            self.save(
                CaseChange(
                    case=case,
                    expected_version=None,
                    events=events,
                    strikes=strikes_new,
                    new_reports=new_reports,
                    outbox=self.outbox(case, effects),
                    statements=statements,
                )
            )
        except VersionConflict:
            logger.info("matched post's case was opened concurrently", case_id=case_id)
            return
        metrics.add_metric(name=f"MatchCase_{decision.outcome.value}", unit=MetricUnit.Count, value=1)
        logger.info(
            "case opened by a bank match",
            case_id=case_id,
            media_id=media_id,
            state=target.value,
            rule_ids=list(decision.rule_ids),
            matches=len(refs),
        )

    # ------------------------------------------------------------ protected media: the person is told, and reports

    def _protected_owners(self, refs: tuple[MatchRef, ...]) -> list[tuple[str, str]]:
        protected = [r.entry_id for r in refs if r.bank is Bank.PROTECTED]
        owners = self.banks.owners(protected)
        seen: set[str] = set()
        out = []
        for entry_id in protected:
            owner = owners.get(entry_id)
            if owner and owner not in seen:
                seen.add(owner)
                out.append((entry_id, owner))
        return out

    def _owner_report(self, case: Case, entry_id: str, owner: str, now: datetime) -> tuple[Report, str, dict[str, str]]:
        """The person who protected the media, as a first-person reporter of the case (their registration is their
        statement that the media is theirs; it stays self-declared: a moderator reviews)."""
        report = Report(
            report_id=owner_report_id(case.case_id, entry_id),
            case_id=case.case_id,
            reporter_id=owner,
            post_id=case.post_id,
            category=case.category,
            relationship=Relationship.SELF,
            attestations=Attestations(accurate_and_complete=True, information_is_mine=True),
            status=ReportStatus.EVALUATED,
            submitted_at=now,
            evaluated_at=now,
        )
        response = {"report_id": report.report_id, "case_id": case.case_id, "status": "received"}
        return report, digest("report", owner, case.post_id, case.category), response

    def _owner_notice(self, case: Case, entry_id: str, owner: str) -> NotificationRequest:
        """The person is told an upload matched media they protected: never the hash, never who uploaded it."""
        event_id = f"{case.case_id}:protected"
        kind = NotificationKind.PROTECTED_MEDIA_MATCHED
        return NotificationRequest(
            notification_id=notification_id_for(event_id, owner, kind),
            kind=kind,
            recipient_id=owner,
            case_id=case.case_id,
            report_id=owner_report_id(case.case_id, entry_id),
            event_id=event_id,
            facts=self.effects.facts_for(
                case,
                protected_media_id=entry_id,
                removed=case.decision is not None and case.decision.outcome is Outcome.REMOVE,
                matched_at=iso(case.created_at),
            ),
        )
