"""Report intake and platform context: validate, store atomically, queue for evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from consent_guard.auth import Principal
from consent_guard.cases import PENDING_STATES
from consent_guard.clock import Clock, utc_now
from consent_guard.errors import NotFound, StorageUnavailable, TooManyRequests
from consent_guard.ids import case_id_for, digest, new_report_id
from consent_guard.messaging import DeliveryFailed, QueuePublisher
from consent_guard.models.api import (
    AccountContextRequest,
    ConfirmationsRequest,
    ContextAccepted,
    MediaContextRequest,
    PostContextRequest,
    ReportAccepted,
    ReportView,
    SubmitReportRequest,
)
from consent_guard.models.domain import (
    AccountContext,
    AccountFacts,
    Attestations,
    Category,
    MediaFacts,
    MediaItem,
    MediaSignals,
    PostContext,
    PostFacts,
    PostSignals,
    Report,
    ReportStatus,
)
from consent_guard.models.effects import Outbox
from consent_guard.models.items import iso
from consent_guard.models.messages import CaseReevaluation, MatchPost, PostDeleted, ReportSubmitted
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import (
    Policy,
    load_policy,
    missing_confirmations,
    reporter_rule_ids,
    reporter_statement,
)
from consent_guard.repository import (
    CaseRepository,
    DuplicateReport,
    IdempotencyClaim,
    IdempotencyMismatch,
    PriorityHintClaim,
    PriorityHintsExhausted,
    QuotaExceeded,
    ReporterLimits,
    ReportingSuspended,
)
from consent_guard.services.effects import Announcer, evaluation_effect

# A report not evaluated within this time is re-queued by the scheduled re-review: the safety net behind
# "an accepted report is never lost" when the queue send fails after the report was stored.
STUCK_REPORT_AFTER = timedelta(minutes=5)

REPORTER_STATUS = {
    "needs_context": "needs_context",
    "awaiting_first_person": "awaiting_first_person",
    "in_review": "under_review",
    "actioned": "action_taken",
    "dismissed": "no_violation",
    "appealed": "under_review",
    "closed": "closed",
}


def submitted(report: Report) -> ReportSubmitted:
    """The evaluation's message, with where the report belongs (its batch read needs no lookup first)."""
    return ReportSubmitted(
        report_id=report.report_id, case_id=report.case_id, post_id=report.post_id, reporter_id=report.reporter_id
    )


@dataclass(frozen=True)
class Submission:
    accepted: ReportAccepted
    created: bool  # False: a duplicate, answered with the original result


class IntakeService:
    def __init__(
        self,
        repository: CaseRepository,
        evaluation_queue: QueuePublisher,
        effects_queue: QueuePublisher,
        clock: Clock = utc_now,
        policy: Policy | None = None,
        matching_queue: QueuePublisher | None = None,
    ) -> None:
        self.repository = repository
        self.evaluation_queue = evaluation_queue
        self.announcer = Announcer(effects_queue)
        self.matching_queue = matching_queue
        self.clock = clock
        self.policy = policy or load_policy()

    def submit_report(
        self, principal: Principal, request: SubmitReportRequest, idempotency_key: str | None = None
    ) -> Submission:
        principal.require_person()
        now = self.clock()
        report = Report(
            report_id=new_report_id(),
            case_id=case_id_for(request.post_id, request.category),
            reporter_id=principal.subject,
            post_id=request.post_id,
            category=request.category,
            relationship=request.relationship,
            represented_account_id=request.represented_account_id,
            description=request.description,
            attestations=Attestations.model_validate(request.attestations.model_dump()),
            live_location=request.live_location,
            live_location_honoured=request.live_location,
            trusted_flagger=principal.is_trusted_flagger,
            locale=request.locale,
            submitted_at=now,
        )
        accepted = self._accepted(report)
        claim = (
            IdempotencyClaim(
                key_digest=digest("idempotency", principal.subject, idempotency_key),
                request_digest=digest(request.model_dump_json()),
            )
            if idempotency_key
            else None
        )
        quota = self.policy.reporter_quota
        window = int(now.timestamp()) // quota.window_seconds
        limits = ReporterLimits(
            reporter_id=principal.subject,
            window_index=window,
            max_reports=quota.max_reports,
            quota_expires_at=(window + 2) * quota.window_seconds,
            now_iso=iso(now),
        )
        hints = self.policy.priority_hints
        hint_window = int(now.timestamp()) // (hints.window_hours * 3600)
        hint = (
            PriorityHintClaim(
                reporter_id=principal.subject,
                window_index=hint_window,
                max_cases=hints.max_cases_per_reporter,
                expires_at=(hint_window + 2) * hints.window_hours * 3600,
            )
            if request.live_location
            else None
        )
        try:
            try:
                self.repository.create_report(
                    report,
                    dedupe_digest=digest("report", principal.subject, request.post_id, request.category),
                    response=accepted.model_dump(mode="json"),
                    stuck_due_at=now + STUCK_REPORT_AFTER,
                    idempotency=claim,
                    limits=limits,
                    priority_hint=hint,
                )
            except PriorityHintsExhausted:
                # a hint, not a fact: beyond the reporter's bound it is kept on the report but moves nothing up
                metrics.add_metric(name="PriorityHintsBeyondBound", unit=MetricUnit.Count, value=1)
                report = report.model_copy(update={"live_location_honoured": False})
                self.repository.create_report(
                    report,
                    dedupe_digest=digest("report", principal.subject, request.post_id, request.category),
                    response=accepted.model_dump(mode="json"),
                    stuck_due_at=now + STUCK_REPORT_AFTER,
                    idempotency=claim,
                    limits=limits,
                )
        except QuotaExceeded:
            metrics.add_metric(name="ReportQuotaExceeded", unit=MetricUnit.Count, value=1)
            retry_after = (window + 1) * quota.window_seconds - int(now.timestamp())
            raise TooManyRequests(
                f"at most {quota.max_reports} reports per {quota.window_seconds} seconds",
                retry_after_seconds=max(1, retry_after),
            ) from None
        except ReportingSuspended:
            metrics.add_metric(name="ReportsFromSuspendedReporters", unit=MetricUnit.Count, value=1)
            raise
        except DuplicateReport as duplicate:
            original = ReportAccepted.model_validate(duplicate.original)
            amended = self._amend(principal, original.report_id, request)
            if amended is not None:
                return Submission(accepted=amended, created=True)
            metrics.add_metric(name="DuplicateReports", unit=MetricUnit.Count, value=1)
            logger.info("duplicate report answered with the original", report_id=original.report_id)
            return Submission(accepted=original, created=False)
        except IdempotencyMismatch:
            metrics.add_metric(name="IdempotencyKeyReused", unit=MetricUnit.Count, value=1)
            raise
        metrics.add_metric(name="ReportsAccepted", unit=MetricUnit.Count, value=1)
        try:
            self.evaluation_queue.send(submitted(report))
        except DeliveryFailed as exc:
            # stored is accepted: the scheduled re-review re-queues it when its timer falls due
            logger.warning(
                "report stored but not queued; re-review will re-queue it", report_id=report.report_id, error=str(exc)
            )
            metrics.add_metric(name="ReportsQueueSendFailed", unit=MetricUnit.Count, value=1)
        logger.info(
            "report accepted",
            report_id=report.report_id,
            case_id=report.case_id,
            category=report.category.value,
            relationship=report.relationship.value,
        )
        return Submission(accepted=accepted, created=True)

    def _accepted(self, report: Report, amended: bool = False) -> ReportAccepted:
        missing = list(missing_confirmations(report.category, report.relationship, report.attestations, self.policy))
        return ReportAccepted(
            report_id=report.report_id,
            case_id=report.case_id,
            status="received",
            amended=amended,
            missing_confirmations=missing,
            add_confirmations=f"/reports/{report.report_id}/confirmations" if missing else None,
        )

    def _amend(self, principal: Principal, report_id: str, request: SubmitReportRequest) -> ReportAccepted | None:
        """A report by the same person on the same post and category that adds information (another relationship,
        confirmations, the account represented) is taken into their report, not replayed: None when it adds
        nothing (a plain duplicate)."""
        try:
            existing = self.repository.get_report(report_id, consistent=True)
        except NotFound:
            return None
        if existing.reporter_id != principal.subject or existing.erased_at is not None:
            return None
        added = Attestations.model_validate(request.attestations.model_dump())
        merged = Attestations.model_validate(
            {k: v or getattr(added, k) for k, v in existing.attestations.model_dump().items()}
        )
        updated = existing.model_copy(
            update={
                "relationship": request.relationship,
                "represented_account_id": request.represented_account_id,
                "attestations": merged,
                "status": ReportStatus.RECEIVED,
            }
        )
        if (updated.relationship, updated.represented_account_id, updated.attestations) == (
            existing.relationship,
            existing.represented_account_id,
            existing.attestations,
        ):
            return None
        return self._take_in(updated, "report amended")

    def add_confirmations(self, principal: Principal, report_id: str, request: ConfirmationsRequest) -> ReportAccepted:
        """The reporter adds the confirmations their first-person report lacked; anyone else gets 404."""
        principal.require_person()
        try:
            existing = self.repository.get_report(report_id, consistent=True)
        except NotFound:
            raise NotFound("report not found") from None
        if existing.reporter_id != principal.subject or existing.erased_at is not None:
            raise NotFound("report not found")
        merged = Attestations.model_validate(
            {k: v or bool(getattr(request, k, False)) for k, v in existing.attestations.model_dump().items()}
        )
        if merged == existing.attestations:
            return self._accepted(existing)  # nothing new: the answer says what is still missing
        return self._take_in(
            existing.model_copy(update={"attestations": merged, "status": ReportStatus.RECEIVED}), "confirmations added"
        )

    def _take_in(self, report: Report, what: str) -> ReportAccepted:
        """Store the amended report and queue it for evaluation again (the stuck-work timer covers a failed send)."""
        now = self.clock()
        self.repository.amend_report(report, now + STUCK_REPORT_AFTER)
        metrics.add_metric(name="ReportsAmended", unit=MetricUnit.Count, value=1)
        try:
            self.evaluation_queue.send(submitted(report))
        except DeliveryFailed as exc:
            logger.warning(
                "amended report not queued; re-review will re-queue it", report_id=report.report_id, error=str(exc)
            )
        logger.info(what, report_id=report.report_id, relationship=report.relationship.value)
        return self._accepted(report, amended=True)

    def view_report(self, principal: Principal, report_id: str) -> ReportView:
        """The reporter's own report and its case's outcome. Anyone else gets NotFound: nothing leaks."""
        principal.require_person()
        try:
            report = self.repository.get_report(report_id)
        except NotFound:
            raise NotFound("report not found") from None
        if report.reporter_id != principal.subject:
            raise NotFound("report not found")
        try:
            case = self.repository.get_case(report.case_id, consistent=False)
        except NotFound:
            case = None
        status = "received"
        if case is not None and report.status == "evaluated":
            status = REPORTER_STATUS[case.state.value]
        # the explanation is shown as soon as the report is evaluated (e.g. why it waits for the person depicted);
        # the outcome only once the case is decided
        decision = case.decision if case is not None and report.status == "evaluated" else None
        decided = decision is not None and case is not None and case.decided_at is not None
        accepted = self._accepted(report)
        # need to know: the content decision and its reasons, never the author's account measures or history
        return ReportView(
            report_id=report.report_id,
            case_id=report.case_id,
            post_id=report.post_id,
            category=report.category,
            relationship=report.relationship,
            status=status,
            outcome=decision.outcome.value if decision and decided else None,
            explanation=reporter_statement(decision, report.category, self.policy) if decision else None,
            rule_ids=list(reporter_rule_ids(decision, self.policy)) if decision else [],
            policy_version=decision.policy_version if decision else None,
            submitted_at=report.submitted_at,
            decided_at=case.decided_at if case is not None and decided else None,
            missing_confirmations=accepted.missing_confirmations,
            add_confirmations=accepted.add_confirmations,
        )

    # ------------------------------------------------------------ platform context

    def put_post_context(self, principal: Principal, post_id: str, request: PostContextRequest) -> ContextAccepted:
        principal.require_platform()
        now = self.clock()
        facts = PostFacts(
            post_id=post_id,
            author_id=request.author_id,
            created_at=request.created_at,
            media=tuple(
                MediaItem(
                    media_id=m.media_id,
                    media_type=m.media_type,
                    signals=MediaSignals.model_validate(signals.model_dump()) if (signals := m.signals()) else None,
                )
                for m in request.media
            ),
            is_reshare=request.is_reshare,
            signals=PostSignals.model_validate(request.signals.model_dump()),
        )
        self.repository.put_post_context(PostContext(facts=facts, text=request.text, updated_at=now))
        matching = any(m.signals is not None for m in facts.media) and self.matching_queue is not None
        if matching:
            assert self.matching_queue is not None
            try:
                self.matching_queue.send(MatchPost(post_id=post_id))
            except DeliveryFailed as exc:
                # the context is stored, its media not yet checked against the banks: the platform retries the PUT
                logger.warning("post media not queued for matching", post_id=post_id, error=str(exc))
                raise StorageUnavailable("the post's media could not be queued for matching, retry later") from None
        reopened = self._reevaluate_pending_cases_of_post(post_id, reason="post_context_updated")
        logger.info("post context stored", post_id=post_id, reevaluating=len(reopened), matching=matching)
        return ContextAccepted(id=post_id, reevaluating_cases=reopened)

    def put_account_context(
        self, principal: Principal, account_id: str, request: AccountContextRequest
    ) -> ContextAccepted:
        principal.require_platform()
        existing = self.repository.get_account_context(account_id)
        facts = AccountFacts(
            account_id=account_id,
            public_figure=request.public_figure,
            identity_verified=request.identity_verified,
            authorized_representatives=tuple(request.authorized_representatives),
            # only admins mark dedicated-exposure accounts: the platform's update keeps what they set
            dedicated_to_exposure=existing.facts.dedicated_to_exposure if existing else False,
        )
        self.repository.put_account_context(
            AccountContext(
                facts=facts, contact_email=request.contact_email, locale=request.locale, updated_at=self.clock()
            )
        )
        logger.info("account context stored", account_id=account_id)
        return ContextAccepted(id=account_id)

    def put_media_context(self, principal: Principal, media_id: str, request: MediaContextRequest) -> ContextAccepted:
        principal.require_platform()
        self.repository.put_media_context(
            MediaFacts(
                media_id=media_id,
                publicly_available=request.publicly_available,
                mainstream_coverage=request.mainstream_coverage,
                depicted_account_ids=tuple(request.depicted_account_ids),
            ),
            self.clock(),
        )
        logger.info("media context stored", media_id=media_id)
        return ContextAccepted(id=media_id)

    def post_deleted(self, principal: Principal, post_id: str) -> ContextAccepted:
        principal.require_platform()
        now = self.clock()
        # what the deletion owes (the evaluation function re-evaluates pending cases and lifts locks that waited for
        # it) is stored with it: the answer does not depend on a send, and nothing accepted is lost
        effect_id = f"post-deleted:{post_id}@{iso(now)}"
        outbox = Outbox(outbox_id=effect_id, effects=(evaluation_effect(effect_id, PostDeleted(post_id=post_id)),))
        self.repository.mark_post_deleted(post_id, now, outbox)
        self.announcer.announce(outbox)
        logger.info("post deleted by author", post_id=post_id)
        return ContextAccepted(id=post_id)

    def _reevaluate_pending_cases_of_post(self, post_id: str, reason: str) -> list[str]:
        # case ids derive from (post, category): the cases of a post are found without an index
        case_ids = [case_id_for(post_id, c) for c in Category]
        pending = sorted(c.case_id for c in self.repository.get_cases(case_ids) if c.state in PENDING_STATES)
        for case_id in pending:
            try:
                self.evaluation_queue.send(CaseReevaluation(case_id=case_id, reason=reason))
            except DeliveryFailed as exc:
                logger.warning("re-evaluation not queued; the case timer will retry", case_id=case_id, error=str(exc))
        return pending
