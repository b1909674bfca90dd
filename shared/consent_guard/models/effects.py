"""Effects: what a change owes the world, committed with the change as one outbox item and delivered at least once
by the effects function. Each effect is typed (`kind`), carries its payload (ids and non-personal facts only) and a
stable `effect_id`, so a redelivery is recognised downstream. New kinds (transparency-database statements,
statistics counters, hash-bank entries) add a kind here and a handler in `services/delivery.py`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EffectKind(StrEnum):
    ENFORCEMENT = "enforcement"  # one event to the platform's bus (content.hide, account.unlock, ...)
    NOTIFICATION = "notification"  # one notification request to the notification queue
    NOTIFY_REPORTERS = "notify_reporters"  # the same notice to every reporter of a case: paged fan-out
    EVALUATE = "evaluate"  # a message to the evaluation queue (a deleted post's cases re-evaluated)
    COUNT_UNFOUNDED = "count_unfounded"  # each reporter of a case counted for a manifestly unfounded report: paged
    STATS = "stats"  # transparency counters and histograms of the change, added once (services/stats_effects.py)


# kinds whose delivery goes page by page (the rest of the work is handed on with a cursor)
PAGED_KINDS = frozenset({EffectKind.NOTIFY_REPORTERS, EffectKind.COUNT_UNFOUNDED})


class Effect(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    kind: EffectKind
    effect_id: str = Field(min_length=1)
    payload: dict[str, Any] = Field(default_factory=dict)


class OutboxReady(BaseModel):
    """The message on the effects queue: an outbox item to deliver (the item holds the effects and the progress)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    type: Literal["outbox_ready"] = "outbox_ready"
    outbox_id: str = Field(min_length=1, max_length=512)


class Outbox(BaseModel):
    """The effects of one change, stored as one item with the change. `outbox_id` is stable for the change (a
    case's id and new version, a report's id, ...): the same change never writes two outbox items."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    outbox_id: str
    effects: tuple[Effect, ...] = ()

    def ordered(self) -> Outbox:
        """Effects without duplicates (same id), single ones first, then the paged fan-outs."""
        unique = list({e.effect_id: e for e in self.effects}.values())
        return self.model_copy(update={"effects": tuple(sorted(unique, key=lambda e: e.kind in PAGED_KINDS))})
