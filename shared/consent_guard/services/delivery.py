"""Delivery of outbox items, at least once, each effect with its stable id: the one place that publishes to the
platform's bus or queues notifications and evaluation messages.

A handler per effect kind (the registry `EffectDelivery.handlers`). Single effects go out in batches; a paged
effect (a fan-out to every reporter of a case) sends one bounded page per step and hands the rest on: the item
records where the next page starts (a conditional write on its step counter, so two deliverers never both move
it) and the effects queue is told again. A crash anywhere repeats at most the step in progress, with the same ids:
notifications are recorded once by their id, the platform drops an event id it has seen. Once every effect went
out, the item is deleted (conditionally), and with it its safety-net timer. The item's statistics are added in the
transaction of that conditional write (or of the first page's advance): the item's own step is their exactly-once
guard, so no marker item and no separate write."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from consent_guard.clock import Clock, utc_now
from consent_guard.ids import notification_id_for
from consent_guard.messaging import DeliveryFailed, EnforcementEvent, EnforcementPublisher, QueuePublisher
from consent_guard.models.domain import NotificationKind
from consent_guard.models.effects import PAGED_KINDS, Effect, EffectKind, Outbox, OutboxReady
from consent_guard.models.items import parse_time
from consent_guard.models.messages import EvaluationMessage, NotificationRequest
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import Policy, load_policy
from consent_guard.repository import CaseRepository, OutboxItem
from consent_guard.repository.stats import Row, counter_updates
from consent_guard.services.effects import Announcer
from consent_guard.services.standing import count_unfounded
from consent_guard.services.stats_effects import utc_day

FAN_OUT_PAGE = 500  # reporters told per step: memory and time per invocation stay flat in the number of reporters
UNFOUNDED_PAGE = 100  # reporters counted per step (a read and a conditional write each)
# the time an invocation keeps when it delivers what it committed: one item takes three calls (~50 ms on AWS); what
# is left below this is announced, so a slow batch hands its items on instead of timing out (30 s) and repeating
INLINE_RESERVE_MS = 5_000

_evaluation_messages: TypeAdapter[Any] = TypeAdapter(EvaluationMessage)

Cursor = dict[str, Any]


class PoisonEffect(Exception):
    """An effect that cannot be delivered as stored (unknown kind, invalid payload): left in its item, counted and
    alarmed; the other effects of the item still go out."""


@dataclass(frozen=True)
class Handler:
    """Delivers effects of one kind. `paged`: one effect at a time, a page per step, returns the next cursor."""

    deliver: Callable[[Sequence[Effect], Cursor | None], Cursor | None]
    paged: bool = False


class EffectDelivery:
    def __init__(
        self,
        repository: CaseRepository,
        effects_queue: QueuePublisher,
        notifications: QueuePublisher,
        evaluation_queue: QueuePublisher | None,
        enforcement: EnforcementPublisher,
        clock: Clock = utc_now,
        policy: Policy | None = None,
    ) -> None:
        self.repository = repository
        self.effects_queue = effects_queue
        self.notifications = notifications
        self.evaluation_queue = evaluation_queue
        self.enforcement = enforcement
        self.clock = clock
        self.policy = policy or load_policy()
        self.handlers: dict[EffectKind, Handler] = {
            EffectKind.ENFORCEMENT: Handler(self._enforcement),
            EffectKind.NOTIFICATION: Handler(self._notifications),
            EffectKind.NOTIFY_REPORTERS: Handler(self._notify_reporters, paged=True),
            EffectKind.COUNT_UNFOUNDED: Handler(self._count_unfounded, paged=True),
        }  # `stats` effects are added with the item's own write (deliver), not sent
        if evaluation_queue is not None:  # a deliverer without it (the evaluation's own) leaves those to another
            self.handlers[EffectKind.EVALUATE] = Handler(self._evaluate)
        assert {k for k, h in self.handlers.items() if h.paged} == PAGED_KINDS

    # ------------------------------------------------------------ one outbox item

    def deliver(self, outbox_id: str) -> str:
        """Deliver what is left of an outbox item, or one page of it. Returns what happened: `gone` (delivered
        before), `done`, `handed_on` (a page went out, the rest is announced), `raced` (another deliverer moved it
        first: it carries on). Raises on a failure (the message is retried) and PoisonEffect.

        The item's statistics (`stats` effects) are not sent anywhere: their ADDs go in the transaction of the
        item's next conditional write - its removal, the advance past a fan-out's first page, or (held back by a
        poison effect) a step of their own - so they are added exactly when that step is written, once."""
        item = self.repository.get_outbox(outbox_id)
        if item is None:
            metrics.add_metric(name="OutboxAlreadyDelivered", unit=MetricUnit.Count, value=1)
            logger.info("outbox already delivered", outbox_id=outbox_id)
            return "gone"
        return self.deliver_item(item)

    def deliver_committed(self, outbox: Outbox) -> str:
        """Deliver an outbox item its writer has just committed, without reading it back: the writer's own
        successful transaction is the proof that the change happened and that these are the table's effects (what
        the effects function's read establishes for a message on its queue). The item is taken as stored - the
        same order, the effects as JSON gives them back - at step 0; a deliverer that moved it first makes the
        step condition fail ("raced"), and a repeat sends only what consumers drop by id."""
        stored = outbox.ordered()
        effects = tuple(Effect.model_validate(e.model_dump(mode="json")) for e in stored.effects)
        return self.deliver_item(
            OutboxItem(outbox_id=stored.outbox_id, effects=effects, index=0, cursor=None, step=0, created_at="")
        )

    def deliver_item(self, item: OutboxItem) -> str:
        outbox_id = item.outbox_id
        effects, index, cursor = item.effects, item.index, item.cursor
        poisoned: list[Effect] = []
        counted: list[tuple[str, list[Row]]] = []  # the stats effects met, to add with the next write of the item
        while index < len(effects):
            effect = effects[index]
            if effect.kind == EffectKind.STATS:
                if not item.counted:
                    try:
                        counted.append((effect.effect_id, self._stats_rows(effect)))
                    except (KeyError, TypeError, ValueError):
                        poisoned.append(effect)
                index += 1
                continue
            handler = self.handlers.get(effect.kind)
            if handler is None:
                poisoned.append(effect)
                index += 1
                continue
            if handler.paged:
                try:
                    following = handler.deliver([effect], cursor)
                except (ValidationError, KeyError, TypeError, ValueError):
                    poisoned.append(effect)
                    index, cursor = index + 1, None
                    continue
                if following is not None:
                    if poisoned:
                        break  # the poisoned ones are reported below; the page's progress is not recorded
                    now, counters = self.clock(), self._counters(counted)
                    if not self.repository.advance_outbox(outbox_id, item.step, index, following, now, counters):
                        return "raced"
                    self._counted(counted)
                    # raised if it fails: the message is retried and resumes from the progress just recorded
                    self.effects_queue.send(OutboxReady(outbox_id=outbox_id))
                    metrics.add_metric(name="FanOutPages", unit=MetricUnit.Count, value=1)
                    return "handed_on"
                index, cursor = index + 1, None
                continue
            group = [effect]
            while index + len(group) < len(effects) and effects[index + len(group)].kind == effect.kind:
                group.append(effects[index + len(group)])
            try:
                handler.deliver(group, None)
            except (ValidationError, KeyError, TypeError, ValueError):
                poisoned += self._one_by_one(handler, group)
            index += len(group)
        if poisoned:
            metrics.add_metric(name="EffectsPoisoned", unit=MetricUnit.Count, value=len(poisoned))
            logger.error(
                "effects that cannot be delivered; the item stays for a fix",
                outbox_id=outbox_id,
                effect_ids=[e.effect_id for e in poisoned],
                kinds=sorted({e.kind.value for e in poisoned}),
            )
            if counted and self.repository.mark_counted(outbox_id, item.step, self._counters(counted)):
                self._counted(counted)
            raise PoisonEffect(outbox_id)
        if not self.repository.complete_outbox(outbox_id, item.step, self._counters(counted)):
            return "raced"
        self._counted(counted)
        metrics.add_metric(name="OutboxDelivered", unit=MetricUnit.Count, value=1)
        logger.info("outbox delivered", outbox_id=outbox_id, effects=len(effects))
        return "done"

    def _counters(self, counted: Sequence[tuple[str, Sequence[Row]]]) -> list[dict[str, Any]]:
        return counter_updates(self.repository.table_name, counted) if counted else []

    @staticmethod
    def _counted(counted: Sequence[tuple[str, Sequence[Row]]]) -> None:
        if counted:
            metrics.add_metric(name="StatsCounted", unit=MetricUnit.Count, value=len(counted))

    @staticmethod
    def _one_by_one(handler: Handler, group: Sequence[Effect]) -> list[Effect]:
        """A batch with an invalid effect: the valid ones go out, the invalid ones are returned."""
        bad: list[Effect] = []
        for effect in group:
            try:
                handler.deliver([effect], None)
            except (ValidationError, KeyError, TypeError, ValueError):
                bad.append(effect)
        return bad

    # ------------------------------------------------------------ the handlers

    def _enforcement(self, effects: Sequence[Effect], _: Cursor | None) -> None:
        self.enforcement.publish([EnforcementEvent.from_detail(e.payload) for e in effects])
        metrics.add_metric(name="EnforcementPublished", unit=MetricUnit.Count, value=len(effects))

    def _notifications(self, effects: Sequence[Effect], _: Cursor | None) -> None:
        self.notifications.send_all([NotificationRequest.model_validate(e.payload) for e in effects])

    def _evaluate(self, effects: Sequence[Effect], _: Cursor | None) -> None:
        messages = [_evaluation_messages.validate_python(e.payload) for e in effects]
        if self.evaluation_queue is None:  # not registered without a queue
            raise LookupError("no evaluation queue")
        self.evaluation_queue.send_all(messages)

    def delivers_at_once(self, outbox: Outbox) -> bool:
        """Whether every effect of `outbox` is one this deliverer sends itself in one step (no fan-out)."""
        return all(
            e.kind == EffectKind.STATS or (e.kind in self.handlers and not self.handlers[e.kind].paged)
            for e in outbox.effects
        )

    def _notify_reporters(self, effects: Sequence[Effect], cursor: Cursor | None) -> Cursor | None:
        (effect,) = effects
        payload = effect.payload
        kind = NotificationKind(payload["kind"])
        event_id = str(payload["event_id"])
        case_id = str(payload["case_id"])
        facts = dict(payload["facts"])
        reports, following = self.repository.case_reports_step(case_id, cursor, FAN_OUT_PAGE)
        requests = [
            NotificationRequest(
                notification_id=notification_id_for(event_id, report.reporter_id, kind),
                kind=kind,
                recipient_id=report.reporter_id,
                case_id=case_id,
                report_id=report.report_id,
                event_id=event_id,
                locale=report.locale,
                facts=facts,
            )
            for report in reports
            if payload.get("include_erased") or report.erased_at is None
        ]
        self.notifications.send_all(list({r.notification_id: r for r in requests}.values()))
        metrics.add_metric(name="FanOutNotifications", unit=MetricUnit.Count, value=len(requests))
        return following

    def _stats_rows(self, effect: Effect) -> list[Row]:
        """A `stats` effect's rows (item, attribute, count); a manifestly unfounded decision counts the notices its
        case received (read now: the count is the case's, not the effect's)."""
        rows: list[Row] = [(str(item), str(attr), int(n)) for item, attr, n in effect.payload["rows"]]
        case_id = effect.payload.get("unfounded_case")
        if case_id is not None:
            day = utc_day(self.clock()) if not rows else rows[0][0].split("#")[1]
            count = self.repository.report_counts([str(case_id)]).get(str(case_id), 0)
            rows.append((f"D#{day}#notices", "manifestly_unfounded", count))
        return rows

    def _count_unfounded(self, effects: Sequence[Effect], cursor: Cursor | None) -> Cursor | None:
        (effect,) = effects
        case_id = str(effect.payload["case_id"])
        at: datetime = parse_time(str(effect.payload["at"]))
        reports, following = self.repository.case_reports_step(case_id, cursor, UNFOUNDED_PAGE)
        for reporter_id in dict.fromkeys(r.reporter_id for r in reports):
            outbox = count_unfounded(self.repository, self.policy, reporter_id, case_id, at)
            if outbox is not None:
                try:
                    self.effects_queue.send(OutboxReady(outbox_id=outbox.outbox_id))
                except DeliveryFailed as exc:  # stored: its timer delivers it
                    logger.warning("outbox not announced; its timer delivers it", error=str(exc))
        return following


class InlineDelivery(Announcer):
    """The announcer of a function that can deliver what it committed itself (the evaluation function): once its
    batch is done, each item it stored is delivered at once by the same `EffectDelivery` the effects function runs,
    with no announcement and no read back - two calls fewer per change on the busiest path. What is not finished
    here (a failure at any hop, a poison effect) is announced to the effects queue as before, and if that send
    fails too, the item's timer brings it to the scheduled re-review: the item stays in the table until delivered,
    whoever delivers it. An item with a fan-out (paged effects) or an effect this deliverer has no destination for
    is announced without being started, so the batch's own time stays bounded by the decisions it made and its
    role needs only the destinations of what it sends."""

    def __init__(self, delivery: EffectDelivery, effects_queue: QueuePublisher) -> None:
        super().__init__(effects_queue)
        self.delivery = delivery
        self._remaining_ms: Callable[[], int] | None = None

    @contextmanager
    def batched(self, remaining_ms: Callable[[], int] | None = None) -> Iterator[None]:
        """As `Announcer.batched`; `remaining_ms` is the invocation's time left: below INLINE_RESERVE_MS, what is
        left of the batch is announced instead of delivered. The reserve covers the normal case, not a call that
        hangs through its SDK retries: if the invocation dies while delivering, the items not yet delivered are
        not announced, and their timers bring them to the scheduled re-review (2 min grace, then its next run)."""
        self._remaining_ms = remaining_ms
        try:
            with super().batched():
                yield
        finally:
            self._remaining_ms = None

    def release(self, stored: list[Outbox]) -> None:
        # what is not started here is announced first, so nothing that waits on a fan-out depends on this batch's
        # own deliveries finishing in time
        now: list[Outbox] = []
        not_started: list[str] = []
        for outbox in stored:
            if not outbox.effects:
                continue
            if self.delivery.delivers_at_once(outbox):
                now.append(outbox)
            else:
                not_started.append(outbox.outbox_id)
        self.announce_ids(not_started)
        left: list[str] = []
        for outbox in now:
            if self._remaining_ms is not None and self._remaining_ms() < INLINE_RESERVE_MS:
                left.append(outbox.outbox_id)
                continue
            try:
                outcome = self.delivery.deliver_committed(outbox)
            except Exception as exc:  # any failure leaves the committed item to the effects function
                metrics.add_metric(name="InlineDeliveryDeferred", unit=MetricUnit.Count, value=1)
                logger.warning(
                    "effects not delivered inline; announced to the effects function",
                    outbox_id=outbox.outbox_id,
                    error=type(exc).__name__,
                )
                left.append(outbox.outbox_id)
                continue
            if outcome == "raced":
                logger.info("outbox moved by another deliverer", outbox_id=outbox.outbox_id)
        self.announce_ids(left)
