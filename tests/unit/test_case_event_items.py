"""A change's case events in one stored item: the format, what an earlier release wrote, and what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from consent_guard.models import items as it
from consent_guard.models.domain import CaseEvent, EventType
from consent_guard.services.review import redactions

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def _event(seq: int, type_: EventType, **data: object) -> CaseEvent:
    # each event its own time and actor, so a reader taking either from the item's first event is caught
    return CaseEvent(
        case_id="c_1", seq=seq, type=type_, at=AT + timedelta(seconds=seq), actor=f"mod-{seq}", data=dict(data)
    )


def test_a_decision_and_its_enforcement_are_one_item_that_reads_back_as_both() -> None:
    events = [
        _event(4, EventType.DECIDED, outcome="remove", rule_ids=["PIM-8"], note="seen the original"),
        _event(5, EventType.ENFORCEMENT_APPLIED, enforcement="lock", measures=["content.hide", "account.lock"]),
        _event(6, EventType.ESCALATED, reason="review_sla"),
    ]
    item = it.events_to_item(events)
    assert (item["PK"], item["SK"]) == ("CASE#c_1", "EVENT#00000004")
    assert it.events_from_item(item) == events
    assert it.events_from_item(json.loads(json.dumps(item))) == events  # what DynamoDB hands back


def test_an_event_alone_is_stored_exactly_as_before_and_items_of_earlier_releases_read() -> None:
    event = _event(1, EventType.EVALUATED, to_state="actioned", seen=datetime(2026, 1, 1, tzinfo=UTC))
    item = it.events_to_item([event])
    assert "more" not in item
    # an item as an earlier release wrote it, one per event
    earlier = {
        "PK": "CASE#c_1",
        "SK": "EVENT#00000001",
        "type": "case_event",
        "case_id": "c_1",
        "seq": 1,
        "event_type": "evaluated",
        "at": "2026-12-02T09:30:01.000Z",
        "actor": "mod-1",
        "data": '{"seen": "2026-01-01 00:00:00+00:00", "to_state": "actioned"}',
    }
    assert item == earlier
    assert it.events_from_item(earlier) == [event.model_copy(update={"data": json.loads(earlier["data"])})]


def test_one_item_is_one_smaller_write_than_two() -> None:
    decided = _event(2, EventType.EVALUATED, to_state="actioned", rule_ids=["PIM-8", "PIM-A1"])
    applied = _event(3, EventType.ENFORCEMENT_APPLIED, enforcement="warn", measures=["content.hide"])
    together = len(json.dumps(it.events_to_item([decided, applied])))
    apart = len(json.dumps(it.events_to_item([decided]))) + len(json.dumps(it.events_to_item([applied])))
    assert together < apart < 1024  # one write unit instead of two (four instead of two in a transaction)


@pytest.mark.parametrize(
    "events",
    [
        [_event(1, EventType.EVALUATED), _event(3, EventType.ENFORCEMENT_APPLIED)],  # a gap
        [_event(2, EventType.EVALUATED), _event(1, EventType.ENFORCEMENT_APPLIED)],  # out of order
        [_event(1, EventType.EVALUATED), _event(2, EventType.DECIDED).model_copy(update={"case_id": "c_2"})],
    ],
    ids=["gap", "order", "two cases"],
)
def test_an_item_holds_one_cases_consecutive_events_only(events: list[CaseEvent]) -> None:
    with pytest.raises(ValueError, match="consecutive"):
        it.events_to_item(events)


def test_erasure_rewrites_every_item_with_personal_data_wherever_the_event_sits_in_it() -> None:
    clean = [_event(1, EventType.EVALUATED, to_state="in_review")]
    noted_later = [
        _event(2, EventType.ENFORCEMENT_APPLIED, enforcement="warn"),
        _event(3, EventType.DECIDED, outcome="remove", note="Jane Roe called"),
    ]
    appealed_later = [
        _event(4, EventType.ESCALATED, reason="review_sla"),
        _event(5, EventType.APPEALED, role="author").model_copy(update={"actor": "user-bob"}),
    ]
    rewrites = redactions([clean, noted_later, appealed_later])
    assert [stored for stored, _ in rewrites] == [noted_later, appealed_later]
    (_, noted), (_, appealed) = rewrites
    assert noted[0] == noted_later[0] and noted[1].data["note"] is None
    assert appealed[0] == appealed_later[0] and appealed[1].actor == "erased"
    assert redactions([noted]) == []  # a second run has nothing left to do
