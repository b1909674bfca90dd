"""Storage items: how each domain record is laid out in the single table, and back.

Key design (docs/data-model.md): every record has its own partition; the case's status item is written once per
state change, never once per report; lists read in order live in ListIndex; timers live in the sparse DueIndex.
Nested structures are stored as JSON strings: they are read whole and never queried.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from consent_guard.ids import shard_of
from consent_guard.models import notification_text
from consent_guard.models.domain import (
    AccountContext,
    AccountFacts,
    Appeal,
    Attestations,
    Case,
    CaseEvent,
    CaseState,
    Decision,
    Detection,
    MediaFacts,
    Notification,
    PostContext,
    PostFacts,
    Report,
    ReportFacts,
    Strike,
)

Item = dict[str, Any]

CASE_REPORT_SHARDS = 8  # a storm's report items spread over 8 ListIndex partitions per case
# timers spread over 64 DueIndex partitions: their write capacity, and the re-review's parallelism (one worker per
# busy shard: docs/data-model.md). Raising it is safe (a timer written under the old count sits in a shard below it).
DUE_SHARDS = 64
REVIEW_QUEUE = "QUEUE#review"
APPEALS_QUEUE = "QUEUE#appeals"
# Work queues in ListIndex: every transition of a case in review writes its queue entry, so the review queue is
# spread over REVIEW_QUEUE_SHARDS partitions (write capacity grows with the count: docs/data-model.md) and read as a
# merge of the shard heads. Appeals are rare: one partition. Raising a count is safe (readers ask every partition
# of the new count, and a case's next write moves it to its new shard); lowering one would hide cases.
REVIEW_QUEUE_SHARDS = 8
QUEUE_SHARDS = {REVIEW_QUEUE: REVIEW_QUEUE_SHARDS, APPEALS_QUEUE: 1}


def queue_partition(queue: str, case_id: str) -> str:
    """The ListIndex partition of a case waiting in `queue` (REVIEW_QUEUE or APPEALS_QUEUE)."""
    shards = QUEUE_SHARDS[queue]
    return queue if shards == 1 else f"{queue}#{shard_of(case_id, shards)}"


def queue_partitions(queue: str) -> list[str]:
    """Every partition a reader of `queue` asks. The review queue's also include its unsharded partition, where
    cases queued before the queue was sharded still wait until their next change moves them."""
    shards = QUEUE_SHARDS[queue]
    return [queue] if shards == 1 else [f"{queue}#{n}" for n in range(shards)] + [queue]


def packed(text: str, policy_text: bool = False) -> bytes:
    """A large nested value (a decision, an outbox's effects) stored compressed, as a binary attribute: DynamoDB
    bills a write per KB of the whole item (twice in a transaction), and JSON of repeated keys packs 3-4x.

    `policy_text`: the value quotes the policy's and the notices' texts (a statement of reasons, a decision's
    reasons, the notices an outbox carries), so it is deflated against the released text dictionary
    (models/notification_text.py), which holds those texts: only what differs is stored. The bytes name their
    dictionary; `unpacked` reads either form."""
    if policy_text:
        return notification_text.deflate(text)
    return zlib.compress(text.encode(), 9)


def unpacked(value: Any) -> str:
    """The text of a value stored by `packed` (bytes, or boto3's Binary), or of one stored before as a string."""
    if isinstance(value, str):
        return value
    data = bytes(value)
    if notification_text.uses_dictionary(data):  # a notification's text, deflated against its dictionary
        return notification_text.unpack(data)
    return zlib.decompress(data).decode()


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def epoch(at: datetime) -> int:
    return int(at.timestamp())


# ---------------------------------------------------------------- keys


def report_key(report_id: str) -> Item:
    return {"PK": f"REPORT#{report_id}", "SK": "REPORT"}


def case_key(case_id: str) -> Item:
    return {"PK": f"CASE#{case_id}", "SK": "STATUS"}


def report_count_key(case_id: str, shard: int) -> Item:
    """One of a case's sharded report counters, added to in each report's own transaction."""
    return {"PK": f"CASE#{case_id}", "SK": f"REPORTCOUNT#{shard}"}


def event_key(case_id: str, seq: int) -> Item:
    return {"PK": f"CASE#{case_id}", "SK": f"EVENT#{seq:08d}"}


def post_key(post_id: str) -> Item:
    return {"PK": f"POST#{post_id}", "SK": "CONTEXT"}


def account_key(account_id: str) -> Item:
    return {"PK": f"ACCOUNT#{account_id}", "SK": "CONTEXT"}


def media_key(media_id: str) -> Item:
    return {"PK": f"MEDIA#{media_id}", "SK": "CONTEXT"}


def strike_key(account_id: str, case_id: str) -> Item:
    return {"PK": f"ACCOUNT#{account_id}", "SK": f"STRIKE#{case_id}"}


def dedupe_key(digest: str) -> Item:
    return {"PK": f"DEDUPE#{digest}", "SK": "DEDUPE"}


def idempotency_key(digest: str) -> Item:
    return {"PK": f"IDEMPOTENCY#{digest}", "SK": "IDEMPOTENCY"}


def standing_key(reporter_id: str) -> Item:
    return {"PK": f"REPORTER#{reporter_id}", "SK": "STANDING"}


def notification_key(notification_id: str) -> Item:
    return {"PK": f"NOTIFICATION#{notification_id}", "SK": "NOTIFICATION"}


def case_reports_partition(case_id: str, shard: int) -> str:
    return f"CASEREPORTS#{case_id}#{shard}"


def inbox_partition(recipient_id: str) -> str:
    return f"INBOX#{recipient_id}"


def due_attributes(kind: str, owner_pk: str, due_at: datetime) -> Item:
    """The sparse-index attributes of a timer. The kind is in the sort key: DueIndex is KEYS_ONLY."""
    return {"DPK": f"DUE#{shard_of(owner_pk, DUE_SHARDS)}", "DSK": f"{iso(due_at)}#{kind}#{owner_pk}"}


def due_kind(dsk: str) -> str:
    return dsk.split("#", 2)[1]


CLAIM_EXPIRY = "claim_expiry"
STRIKE_EXPIRY = "strike_expiry"


def case_timer(case: Case) -> tuple[str, datetime] | None:
    """The case item's one DueIndex entry: the earlier of the timer its state calls for and its claim's expiry.

    A claim thus needs no timer item of its own and moves with the case in the same version-guarded write.
    """
    timers: list[tuple[datetime, str]] = []
    if case.due_kind and case.due_at:
        timers.append((case.due_at, case.due_kind))
    if case.claimed_by and case.claim_expires_at:
        timers.append((case.claim_expires_at, CLAIM_EXPIRY))
    if not timers:
        return None
    at, kind = min(timers)
    return kind, at


# ---------------------------------------------------------------- reports


def report_to_item(report: Report, stuck_due_at: datetime | None) -> Item:
    item: Item = {
        **report_key(report.report_id),
        "type": "report",
        "report_id": report.report_id,
        "case_id": report.case_id,
        "reporter_id": report.reporter_id,
        "post_id": report.post_id,
        "category": report.category.value,
        "relationship": report.relationship.value,
        "description": report.description,
        "attestations": report.attestations.model_dump_json(),
        "live_location": report.live_location,
        "live_location_honoured": report.live_location_honoured,
        "trusted_flagger": report.trusted_flagger,
        "locale": report.locale,
        "status": report.status.value,
        "submitted_at": iso(report.submitted_at),
        "LPK": case_reports_partition(report.case_id, shard_of(report.report_id, CASE_REPORT_SHARDS)),
        "LSK": f"{iso(report.submitted_at)}#{report.report_id}",
    }
    if report.represented_account_id:
        item["represented_account_id"] = report.represented_account_id
    if report.evaluated_at:
        item["evaluated_at"] = iso(report.evaluated_at)
    if report.erased_at:
        item["erased_at"] = iso(report.erased_at)
    if stuck_due_at is not None:
        item.update(due_attributes("report_stuck", item["PK"], stuck_due_at))
    return item


def report_from_item(item: Item) -> Report:
    return Report(
        report_id=item["report_id"],
        case_id=item["case_id"],
        reporter_id=item["reporter_id"],
        post_id=item["post_id"],
        category=item["category"],
        relationship=item["relationship"],
        represented_account_id=item.get("represented_account_id"),
        description=item.get("description", ""),
        attestations=Attestations.model_validate_json(item["attestations"]),
        live_location=bool(item.get("live_location", False)),
        live_location_honoured=bool(item.get("live_location_honoured", True)),
        trusted_flagger=bool(item.get("trusted_flagger", False)),
        locale=item.get("locale", "en"),
        status=item["status"],
        submitted_at=parse_time(item["submitted_at"]),
        evaluated_at=parse_time(item["evaluated_at"]) if item.get("evaluated_at") else None,
        erased_at=parse_time(item["erased_at"]) if item.get("erased_at") else None,
    )


# ---------------------------------------------------------------- context


def post_context_to_item(context: PostContext) -> Item:
    return {
        **post_key(context.facts.post_id),
        "type": "post_context",
        "facts": context.facts.model_dump_json(),
        "text": context.text,
        "updated_at": iso(context.updated_at),
    }


def post_context_from_item(item: Item) -> PostContext:
    return PostContext(
        facts=PostFacts.model_validate_json(item["facts"]),
        text=item.get("text", ""),
        updated_at=parse_time(item["updated_at"]),
    )


def account_context_to_item(context: AccountContext) -> Item:
    item: Item = {
        **account_key(context.facts.account_id),
        "type": "account_context",
        "facts": context.facts.model_dump_json(),
        "locale": context.locale,
        "updated_at": iso(context.updated_at),
    }
    if context.contact_email:
        item["contact_email"] = context.contact_email
    return item


def account_context_from_item(item: Item) -> AccountContext:
    return AccountContext(
        facts=AccountFacts.model_validate_json(item["facts"]),
        contact_email=item.get("contact_email"),
        locale=item.get("locale", "en"),
        updated_at=parse_time(item["updated_at"]),
    )


def media_to_item(facts: MediaFacts, updated_at: datetime) -> Item:
    return {
        **media_key(facts.media_id),
        "type": "media_context",
        "facts": facts.model_dump_json(),
        "updated_at": iso(updated_at),
    }


def media_from_item(item: Item) -> MediaFacts:
    return MediaFacts.model_validate_json(item["facts"])


# ---------------------------------------------------------------- cases


def decision_texts_key(case_id: str) -> Item:
    """A decision's texts, beside the case's status item: `begins_with(SK, "STATUS")` reads both in one query."""
    return {"PK": f"CASE#{case_id}", "SK": "STATUS#DECISION"}


# what the status item leaves to the decision's texts item: the longest parts, which change only with the decision
DECISION_TEXTS = ("reasons", "statement_of_reasons", "exceptions_considered")


def decision_texts(decision: Decision) -> dict[str, Any]:
    return decision.model_dump(mode="json", include=set(DECISION_TEXTS))


def decision_texts_to_item(case: Case) -> Item:
    """The texts of the case's decision (why, in words: reasons, the statement of reasons, the exceptions weighed).
    Written in the transaction of a change that sets a decision with other texts; the status item is rewritten by
    every change (claims, timers, appeals), so it keeps only the decision's head and stays under 1 KB."""
    assert case.decision is not None
    return {
        **decision_texts_key(case.case_id),
        "type": "case_decision",
        "case_id": case.case_id,
        "version": case.version,
        "texts": packed(json.dumps(decision_texts(case.decision), sort_keys=True), policy_text=True),
    }


def case_to_item(case: Case) -> Item:
    item: Item = {
        **case_key(case.case_id),
        "type": "case",
        "case_id": case.case_id,
        "post_id": case.post_id,
        "category": case.category.value,
        "state": case.state.value,
        "version": case.version,
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "decided_by": case.decided_by,
        "key_reports": packed(json.dumps([r.model_dump(mode="json") for r in case.key_reports])),
    }
    if case.author_id:
        item["author_id"] = case.author_id
    if case.decision is not None:
        # the head only (outcome, enforcement, rules, policy version): the texts live in decision_texts_to_item
        item["decision"] = packed(case.decision.model_dump_json(exclude=set(DECISION_TEXTS)))
        item["outcome"] = case.decision.outcome.value
    if case.decided_at:
        item["decided_at"] = iso(case.decided_at)
    if case.review_priority is not None:
        item["review_priority"] = case.review_priority
    if case.state == CaseState.IN_REVIEW and case.review_priority is not None:
        # priority first, then age: the queue sort key never changes while the case waits
        item["LPK"] = queue_partition(REVIEW_QUEUE, case.case_id)
        item["LSK"] = f"{case.review_priority}#{iso(case.queued_at or case.updated_at)}#{case.case_id}"
    elif case.state == CaseState.APPEALED and case.appeal is not None:
        item["LPK"] = queue_partition(APPEALS_QUEUE, case.case_id)
        item["LSK"] = f"{iso(case.appeal.filed_at)}#{case.case_id}"
    if case.queued_at:
        item["queued_at"] = iso(case.queued_at)
    if case.review_due_at:
        item["review_due_at"] = iso(case.review_due_at)
    if case.claimed_by and case.claim_expires_at:
        item["claimed_by"] = case.claimed_by
        item["claim_expires_at"] = iso(case.claim_expires_at)
    if case.appeal is not None:
        item["appeal"] = case.appeal.model_dump_json()
    if case.appealed_decisions:
        item["appealed_decisions"] = json.dumps([iso(d) for d in case.appealed_decisions])
    if case.measures_active:
        item["measures_active"] = json.dumps(list(case.measures_active))
    for name in ("waiting_since", "escalated_at", "closed_at", "erased_at"):
        value = getattr(case, name)
        if value:
            item[name] = iso(value)
    if case.closed_reason:
        item["closed_reason"] = case.closed_reason
    if case.due_kind and case.due_at:
        item["due_kind"] = case.due_kind
        item["due_at"] = iso(case.due_at)
    if case.detection is not None:
        item["detection"] = case.detection.model_dump_json()
    if case.bank_entries:
        item["bank_entries"] = json.dumps(list(case.bank_entries))
    timer = case_timer(case)
    if timer is not None:
        item.update(due_attributes(timer[0], item["PK"], timer[1]))
    return item


def _decision_from_items(item: Item, texts: Item | None) -> Decision | None:
    """The decision of a status item with its texts item. Without the texts (a queue page read from the index,
    the winner of a version conflict) its texts are empty; a status item written before the split carries them."""
    if not item.get("decision"):
        return None
    fields = json.loads(unpacked(item["decision"]))
    if texts is not None and "texts" in texts:
        fields.update(json.loads(unpacked(texts["texts"])))
    return Decision.model_validate(fields)


def case_from_item(item: Item, texts: Item | None = None) -> Case:
    return Case(
        case_id=item["case_id"],
        post_id=item["post_id"],
        category=item["category"],
        state=item["state"],
        version=int(item["version"]),
        created_at=parse_time(item["created_at"]),
        updated_at=parse_time(item["updated_at"]),
        author_id=item.get("author_id"),
        decision=_decision_from_items(item, texts),
        decided_at=parse_time(item["decided_at"]) if item.get("decided_at") else None,
        decided_by=item.get("decided_by", "system"),
        key_reports=tuple(ReportFacts.model_validate(r) for r in json.loads(unpacked(item.get("key_reports", "[]")))),
        review_priority=int(item["review_priority"]) if item.get("review_priority") is not None else None,
        review_due_at=parse_time(item["review_due_at"]) if item.get("review_due_at") else None,
        queued_at=parse_time(item["queued_at"]) if item.get("queued_at") else None,
        claimed_by=item.get("claimed_by"),
        claim_expires_at=parse_time(item["claim_expires_at"]) if item.get("claim_expires_at") else None,
        appeal=Appeal.model_validate_json(item["appeal"]) if item.get("appeal") else None,
        appealed_decisions=tuple(parse_time(d) for d in json.loads(item.get("appealed_decisions", "[]"))),
        measures_active=tuple(json.loads(item.get("measures_active", "[]"))),
        due_kind=item.get("due_kind"),
        due_at=parse_time(item["due_at"]) if item.get("due_at") else None,
        waiting_since=parse_time(item["waiting_since"]) if item.get("waiting_since") else None,
        escalated_at=parse_time(item["escalated_at"]) if item.get("escalated_at") else None,
        closed_at=parse_time(item["closed_at"]) if item.get("closed_at") else None,
        closed_reason=item.get("closed_reason"),
        erased_at=parse_time(item["erased_at"]) if item.get("erased_at") else None,
        detection=Detection.model_validate_json(item["detection"]) if item.get("detection") else None,
        bank_entries=tuple(json.loads(item.get("bank_entries", "[]"))),
    )


def events_to_item(events: Sequence[CaseEvent]) -> Item:
    """One change's events in one item, under the first event's key: a change pays one write for its history, not
    one per event (a decision and its enforcement are two events, one transaction).

    The first event is in the item's own attributes, exactly the form of an event stored alone (every item an
    earlier release wrote is that form); the others, in order, in `more`. Their sequence numbers are the ones
    after the first (a change's events take consecutive versions), so the next change's first key is free."""
    first, *rest = events
    if any(e.case_id != first.case_id or e.seq != first.seq + i for i, e in enumerate(events)):
        raise ValueError("one item holds one case's consecutive events")
    item: Item = {
        **event_key(first.case_id, first.seq),
        "type": "case_event",
        "case_id": first.case_id,
        "seq": first.seq,
        "event_type": first.type.value,
        "at": iso(first.at),
        "actor": first.actor,
        "data": json.dumps(first.data, default=str, sort_keys=True),
    }
    if rest:
        item["more"] = json.dumps(
            [{"type": e.type.value, "at": iso(e.at), "actor": e.actor, "data": e.data} for e in rest],
            default=str,
            sort_keys=True,
        )
    return item


def events_from_item(item: Item) -> list[CaseEvent]:
    """The events of one stored item, in order (one for an item written alone or by an earlier release)."""
    first = {
        "type": item["event_type"],
        "at": item["at"],
        "actor": item["actor"],
        "data": json.loads(item.get("data", "{}")),
    }
    return [
        CaseEvent(
            case_id=str(item["case_id"]),
            seq=int(item["seq"]) + i,
            type=e["type"],
            at=parse_time(e["at"]),
            actor=e["actor"],
            data=e.get("data", {}),
        )
        for i, e in enumerate([first, *json.loads(item.get("more", "[]"))])
    ]


def strike_to_item(account_id: str, strike: Strike) -> Item:
    """Every strike carries its expiry timer: the scheduled re-review records and publishes the expiry."""
    key = strike_key(account_id, strike.case_id)
    return {
        **key,
        "type": "strike",
        "strike": strike.model_dump_json(),
        "expires_at_iso": iso(strike.expires_at),
        **due_attributes(STRIKE_EXPIRY, key["PK"], strike.expires_at),
    }


def strike_from_item(item: Item) -> Strike:
    return Strike.model_validate_json(item["strike"])


# ---------------------------------------------------------------- notifications


def notification_to_item(notification: Notification) -> Item:
    item: Item = {
        **notification_key(notification.notification_id),
        "type": "notification",
        "notification_id": notification.notification_id,
        "recipient_id": notification.recipient_id,
        "kind": notification.kind.value,
        "locale": notification.locale,
        # what was sent, byte for byte, deflated against the versioned text dictionary: one write unit, not three
        "text": notification_text.encode(notification.subject, notification.body),
        "text_v": notification_text.CURRENT,
        "created_at": iso(notification.created_at),
        "email_status": notification.email_status.value,
        "attempts": notification.attempts,
        "LPK": inbox_partition(notification.recipient_id),
        "LSK": f"{iso(notification.created_at)}#{notification.notification_id}",
    }
    if notification.case_id:
        item["case_id"] = notification.case_id
    if notification.report_id:
        item["report_id"] = notification.report_id
    if notification.expires_at is not None:
        item["expires_at"] = int(notification.expires_at.timestamp())  # the table's TTL attribute (epoch seconds)
    return item


def notification_from_item(item: Item) -> Notification:
    if "text" in item:
        subject, body = notification_text.decode(item["text"], int(item["text_v"]))
    else:  # written before the text was stored compressed
        subject, body = item["subject"], item["body"]
    return Notification(
        notification_id=item["notification_id"],
        recipient_id=item["recipient_id"],
        kind=item["kind"],
        locale=item.get("locale", "en"),
        subject=subject,
        body=body,
        case_id=item.get("case_id"),
        report_id=item.get("report_id"),
        created_at=parse_time(item["created_at"]),
        email_status=item.get("email_status", "none"),
        attempts=int(item.get("attempts", 0)),
    )
