"""Platform context: posts, accounts and media, and the batch reads an evaluation needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from consent_guard.errors import NotFound
from consent_guard.models import items as it
from consent_guard.models.domain import AccountContext, AccountFacts, Case, MediaFacts, PostContext, Report
from consent_guard.models.effects import Outbox
from consent_guard.repository.base import TableAccess, _av
from consent_guard.repository.cases import cases_of
from consent_guard.repository.outbox import outbox_put


@dataclass
class EvaluationInputs:
    """What one batch read found for an evaluation. `asked_*` say which keys were in the batch, so a caller knows
    an absent account or standing was looked for (and does not exist) rather than not asked for."""

    report: Report | None = None
    case: Case | None = None
    post: PostContext | None = None
    accounts: dict[str, AccountContext] = field(default_factory=dict)
    media: dict[str, MediaFacts] = field(default_factory=dict)
    standings: dict[str, it.Item] = field(default_factory=dict)
    asked_accounts: set[str] = field(default_factory=set)
    asked_standings: set[str] = field(default_factory=set)


class ContextRepository(TableAccess):
    def load_inputs(
        self,
        *,
        report_id: str | None = None,
        case_id: str | None = None,
        post_id: str | None = None,
        account_ids: Iterable[str] = (),
        media_ids: Iterable[str] = (),
        standing_ids: Iterable[str] = (),
    ) -> EvaluationInputs:
        """Any of a report, its case, its post, accounts, media and reporter standings in one strongly
        consistent batch read (an evaluation's reads are two of these and the author's strikes)."""
        found = EvaluationInputs(asked_accounts=set(account_ids), asked_standings=set(standing_ids))
        keys = [it.report_key(report_id)] if report_id else []
        keys += [it.case_key(case_id), it.decision_texts_key(case_id)] if case_id else []
        keys += [it.post_key(post_id)] if post_id else []
        keys += [it.account_key(a) for a in found.asked_accounts]
        keys += [it.media_key(m) for m in media_ids]
        keys += [it.standing_key(r) for r in found.asked_standings]
        if not keys:
            return found
        case_items: list[it.Item] = []
        for item in self._batch_get(keys):
            kind = item.get("type")
            if kind in ("case", "case_decision"):
                case_items.append(item)
            elif item["SK"] == "STANDING":
                found.standings[str(item["reporter_id"])] = item
            elif kind == "report":
                found.report = it.report_from_item(item)
            elif kind == "post_context":
                found.post = it.post_context_from_item(item)
            elif kind == "account_context":
                account = it.account_context_from_item(item)
                found.accounts[account.facts.account_id] = account
            elif kind == "media_context":
                media = it.media_from_item(item)
                found.media[media.media_id] = media
        found.case = next(iter(cases_of(case_items)), None)
        return found

    def put_post_context(self, context: PostContext) -> None:
        self._call("put_item", TableName=self.table_name, Item=_av(it.post_context_to_item(context)))

    def put_account_context(self, context: AccountContext) -> None:
        self._call("put_item", TableName=self.table_name, Item=_av(it.account_context_to_item(context)))

    def put_media_context(self, facts: MediaFacts, updated_at: datetime) -> None:
        self._call("put_item", TableName=self.table_name, Item=_av(it.media_to_item(facts, updated_at)))

    def mark_post_deleted(self, post_id: str, at: datetime, outbox: Outbox) -> PostContext:
        """Record that the author deleted the post, with what the deletion owes (its cases re-evaluated, locks
        lifted) in the same transaction; returns the updated context."""
        item = self._get(it.post_key(post_id), consistent=True)
        if item is None:
            raise NotFound("post not found")
        context = it.post_context_from_item(item)
        updated = PostContext(
            facts=context.facts.model_copy(update={"deleted": True}), text=context.text, updated_at=at
        )
        put = {"Put": {"TableName": self.table_name, "Item": _av(it.post_context_to_item(updated))}}
        self._transact([put, outbox_put(self.table_name, outbox, at)])
        return updated

    def get_account_context(self, account_id: str) -> AccountContext | None:
        item = self._get(it.account_key(account_id))
        return it.account_context_from_item(item) if item else None

    def get_post_context(self, post_id: str) -> PostContext | None:
        item = self._get(it.post_key(post_id))
        return it.post_context_from_item(item) if item else None

    def set_dedicated_to_exposure(self, account_id: str, dedicated: bool, at: datetime) -> AccountContext:
        existing = self.get_account_context(account_id)
        context = AccountContext(
            facts=(existing.facts if existing else AccountFacts(account_id=account_id)).model_copy(
                update={"dedicated_to_exposure": dedicated}
            ),
            contact_email=existing.contact_email if existing else None,
            locale=existing.locale if existing else "en",
            updated_at=at,
        )
        self.put_account_context(context)
        return context

    def load_evaluation_inputs(
        self, case_id: str, post_id: str, account_ids: Iterable[str], media_ids: Iterable[str] = ()
    ) -> tuple[Case | None, PostContext | None, dict[str, AccountContext], dict[str, MediaFacts]]:
        """The case, the post, the accounts and the media an evaluation needs, in one batch read."""
        found = self.load_inputs(case_id=case_id, post_id=post_id, account_ids=account_ids, media_ids=media_ids)
        return found.case, found.post, found.accounts, found.media
