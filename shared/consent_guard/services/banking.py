"""The hash banks as the services use them: what a decision banks, people protecting their own media, admins
disabling or clearing entries. No numpy here: the PDQ index lives in the matching function only."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime

from consent_guard.auth import Group, Principal
from consent_guard.clock import Clock, utc_now
from consent_guard.errors import Conflict, TooManyRequests
from consent_guard.ids import _b32
from consent_guard.models import api
from consent_guard.models.domain import (
    Bank,
    BankEntry,
    Case,
    Category,
    EntryStatus,
    MediaSignals,
    Outcome,
    PostFacts,
)
from consent_guard.models.items import epoch
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import Policy, load_policy
from consent_guard.repository import CaseRepository
from consent_guard.repository.bank import BankChange, BankRepository, ProtectedLimit


def entry_id_for(bank: Bank, case_id: str, decided_at: datetime, media_id: str) -> str:
    """Entries written by a decision have ids derived from it: the same decision can never bank twice."""
    raw = hashlib.sha256(f"{bank}\x1f{case_id}\x1f{decided_at.isoformat()}\x1f{media_id}".encode()).digest()
    return "b_" + _b32(raw[:15])


def new_entry_id() -> str:
    return "b_" + _b32(os.urandom(15))


def _signals_of(post: PostFacts) -> list[tuple[str, str, MediaSignals]]:
    return [
        (m.media_id, m.media_type.value, m.signals) for m in post.media if m.signals is not None and m.signals.present()
    ]


def decision_bank_change(
    policy: Policy, previous: Case | None, case: Case, post: PostFacts | None, now: datetime
) -> tuple[BankChange | None, tuple[str, ...]]:
    """What a new decision on `case` does to the banks, and the entries the case then owns.

    A removal banks the post's media as `removed` (not when the removal was itself an automatic match: a chain of
    near copies would drift); a person's finding of no violation banks them as `cleared`. Whatever the previous
    decision banked is disabled (an overturn takes effect at once).
    """
    decision = case.decision
    if decision is None or case.category not in policy.index.banked_categories:
        return None, case.bank_entries
    disable = tuple(previous.bank_entries) if previous is not None else ()
    bank: Bank | None = None
    if decision.outcome is Outcome.REMOVE and not (decision.automated and case.detection is not None):
        bank = Bank.REMOVED
    elif decision.outcome is Outcome.NO_VIOLATION and not decision.automated:
        bank = Bank.CLEARED
    entries: list[BankEntry] = []
    if bank is not None and post is not None and case.decided_at is not None:
        for media_id, media_type, signals in _signals_of(post):
            entries.append(
                BankEntry(
                    entry_id=entry_id_for(bank, case.case_id, case.decided_at, media_id),
                    bank=bank,
                    category=case.category,
                    media_type=media_type,
                    signals=signals,
                    origin="decision",
                    origin_case_id=case.case_id,
                    origin_decided_at=case.decided_at,
                    origin_rule_ids=decision.rule_ids,
                    created_at=now,
                    updated_at=now,
                )
            )
    if not entries and not disable:
        return None, case.bank_entries
    change = BankChange(
        new_entries=entries,
        disable=disable,
        reason="overturned"
        if previous is not None and previous.decision is not None and previous.decision.outcome != decision.outcome
        else "decision_changed",
        at=now,
        min_quality=policy.hash_matching.pdq_min_quality,
    )
    return change, tuple(e.entry_id for e in entries)


class BankService:
    """Protected media of signed-in people, and admins' changes to entries."""

    def __init__(self, repository: CaseRepository, clock: Clock = utc_now, policy: Policy | None = None) -> None:
        self.repository = repository
        self.banks = BankRepository(repository)
        self.clock = clock
        self.policy = policy or load_policy()

    # ------------------------------------------------------------ people protect their own media

    def register(self, principal: Principal, request: api.ProtectedMediaRequest) -> api.ProtectedMediaView:
        principal.require_person()
        now = self.clock()
        hm = self.policy.hash_matching
        entry = BankEntry(
            entry_id=new_entry_id(),
            bank=Bank.PROTECTED,
            category=Category(request.category),
            media_type=request.media_type,
            signals=MediaSignals(
                md5=request.md5, sha256=request.sha256, pdq=request.pdq, pdq_quality=request.pdq_quality
            ),
            origin="registration",
            created_at=now,
            updated_at=now,
        )
        quota = hm.protected_quota
        window = epoch(now) // quota.window_seconds
        try:
            self.banks.register_protected(
                entry,
                principal.subject,
                hm.protected_max_per_person,
                (window, quota.max_registrations, (window + 2) * quota.window_seconds),
                hm.pdq_min_quality,
            )
        except ProtectedLimit as exc:
            metrics.add_metric(name="ProtectedMediaLimited", unit=MetricUnit.Count, value=1)
            if exc.details.get("total"):
                # a slot frees when the person withdraws one: no time to wait for
                raise TooManyRequests(exc.message, retry_after_seconds=quota.window_seconds) from None
            retry = (window + 1) * quota.window_seconds - epoch(now)
            raise TooManyRequests(exc.message, retry_after_seconds=max(1, retry)) from None
        metrics.add_metric(name="ProtectedMediaRegistered", unit=MetricUnit.Count, value=1)
        logger.info("protected media registered", entry_id=entry.entry_id, signals=list(entry.signals.present()))
        return api.ProtectedMediaView(
            protected_media_id=entry.entry_id,
            category=entry.category.value,
            media_type=entry.media_type.value,
            signals=list(entry.signals.present()),
            created_at=now,
            pdq_used=bool(entry.signals.pdq) and (entry.signals.pdq_quality or 0) >= hm.pdq_min_quality,
        )

    def list_protected(self, principal: Principal) -> api.ProtectedMediaPage:
        principal.require_person()
        items = self.banks.protected_of(principal.subject)
        return api.ProtectedMediaPage(
            items=[
                api.ProtectedMediaView(
                    protected_media_id=str(i["entry_id"]),
                    category=str(i["category"]),
                    media_type=str(i["media_type"]),
                    signals=list(_json_list(i.get("signals"))),
                    created_at=datetime.fromisoformat(str(i["created_at"])),
                )
                for i in items
            ]
        )

    def withdraw(self, principal: Principal, entry_id: str) -> None:
        principal.require_person()
        self.banks.withdraw_protected(entry_id, principal.subject)
        metrics.add_metric(name="ProtectedMediaWithdrawn", unit=MetricUnit.Count, value=1)
        logger.info("protected media withdrawn and erased", entry_id=entry_id)

    # ------------------------------------------------------------ admins

    def view_entry(self, principal: Principal, entry_id: str) -> api.BankEntryView:
        principal.require_group(Group.ADMINS, Group.MODERATORS)
        entry = self.banks.get_entry(entry_id)
        return _entry_view(entry, self.banks.entry_events(entry_id))

    def change_entry(
        self, principal: Principal, entry_id: str, request: api.BankEntryChangeRequest
    ) -> api.BankEntryView:
        """Disable an entry, or clear it (disable, and bank its signals as `cleared`), with a reason and an event."""
        principal.require_group(Group.ADMINS)
        entry = self.banks.get_entry(entry_id)
        if entry.status is EntryStatus.DISABLED:
            raise Conflict("the entry is already disabled", current_status=entry.status.value)
        now = self.clock()
        cleared = None
        if request.action == "clear":
            cleared = BankEntry(
                entry_id=entry_id_for(Bank.CLEARED, entry.entry_id, now, "admin_clear"),
                bank=Bank.CLEARED,
                category=entry.category,
                media_type=entry.media_type,
                signals=entry.signals,
                origin="admin_clear",
                origin_case_id=entry.origin_case_id,
                origin_entry_id=entry.entry_id,
                created_at=now,
                updated_at=now,
            )
        self.banks.set_entry_status(
            entry,
            principal.subject,
            request.action,
            request.reason,
            now,
            cleared,
            self.policy.hash_matching.pdq_min_quality,
        )
        metrics.add_metric(name=f"BankEntry_{request.action}", unit=MetricUnit.Count, value=1)
        logger.info("bank entry changed", entry_id=entry_id, action=request.action, bank=entry.bank.value)
        return _entry_view(self.banks.get_entry(entry_id), self.banks.entry_events(entry_id))


def _json_list(value: object) -> list[str]:
    return [str(v) for v in json.loads(str(value))] if value else []


def _entry_view(entry: BankEntry, events: list[dict[str, object]]) -> api.BankEntryView:
    return api.BankEntryView(
        entry_id=entry.entry_id,
        bank=entry.bank.value,
        status=entry.status.value,
        category=entry.category.value,
        media_type=entry.media_type.value,
        signals=list(entry.signals.present()),
        origin=entry.origin,
        origin_case_id=entry.origin_case_id,
        origin_decided_at=entry.origin_decided_at,
        origin_rule_ids=list(entry.origin_rule_ids),
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        disabled_reason=entry.disabled_reason,
        events=[
            {"action": e.get("action"), "actor": e.get("actor"), "reason": e.get("reason"), "at": e.get("at")}
            for e in events
        ],
    )
