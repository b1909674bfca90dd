"""Notification delivery: render from templates, email through SES v2, record in-app exactly once.

Notifications carry ids, categories, rules and outcomes, never what was reported (no description, no post text):
the templates only receive the non-personal facts of the NotificationRequest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from consent_guard.clock import Clock, utc_now
from consent_guard.messaging import DeliveryFailed, EmailSender
from consent_guard.models.domain import EmailStatus, Notification, NotificationKind
from consent_guard.models.messages import NotificationRequest
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy.retention import load_retention
from consent_guard.repository import CaseRepository
from consent_guard.repository.notifications import DeliveryState

if TYPE_CHECKING:
    from consent_guard.policy.document import Policy

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LOCALES = ("en", "de")


@cache
def _environment() -> Environment:
    # autoescape for the HTML wrapper; text templates are plain text and rendered without escaping
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=False,
    )


@cache
def _labels() -> dict[str, Any]:
    return json.loads((TEMPLATES / "labels.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_text(kind: NotificationKind, locale: str, facts: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a notice: the templates' plain text, from the non-personal facts only."""
    locale = locale if locale in LOCALES else "en"
    labels = _labels()[locale]
    enforcement = facts.get("enforcement") or "none"
    context = {
        **{k: None for k in ("statement_of_reasons", "appeal_deadline", "policy_version", "outcome")},
        "rule_ids": [],
        **facts,
        "locale": locale,
        "enforcement": enforcement,
        "category_label": labels["category"].get(str(facts.get("category")), str(facts.get("category", ""))),
        "outcome_text": labels["outcome"].get(str(facts.get("outcome")), ""),
        "measures_text": "; ".join(labels["measure"][m] for m in facts.get("measures") or []),
        "scope_text": labels["scope"],
        "duration_text": labels["duration"].get(enforcement, ""),
        "reason_text": labels["lock_reason"].get(str(facts.get("reason")), ""),
        "source": facts.get("source", "notice"),
        "automated": facts.get("automated", True),
        "wait_days": facts.get("wait_days", 14),
        "missing_confirmations": facts.get("missing_confirmations") or [],
        "add_confirmations": facts.get("add_confirmations"),
        "missing_text": "; ".join(labels["confirmation"][c] for c in facts.get("missing_confirmations") or []),
    }
    template = _environment().get_template(f"{kind.value}.{locale}.j2")
    subject = "".join(template.blocks["subject"](template.new_context(context))).strip()
    text = "".join(template.blocks["body"](template.new_context(context))).strip()
    return subject, text


def email_html(locale: str, subject: str, text: str) -> str:
    """The HTML part of an email: the text's paragraphs in the escaped wrapper."""
    return (
        _environment()
        .get_template("email.html.j2")
        .render(
            locale=locale if locale in LOCALES else "en",
            subject=subject,
            paragraphs=[p for p in text.split("\n\n") if p.strip()],
        )
    )


def render(kind: NotificationKind, locale: str, facts: dict[str, Any]) -> Rendered:
    subject, text = render_text(kind, locale, facts)
    return Rendered(subject=subject, text=text, html=email_html(locale, subject, text))


# facts that exercise every template branch and label, for the text dictionary (ids and dates are placeholders)
_DICTIONARY_FACTS: dict[str, Any] = {
    "case_id": "c_xxxxxxxxxxxxxxxxxxxxxxxxxx",
    "post_id": "post-1",
    "report_id": "r_xxxxxxxxxxxxxxxxxxxxxxxxxx",
    "category": "private_media",
    "outcome": "remove",
    "enforcement": "require_removal",
    "measures": ["content.hide", "account.lock"],
    "rule_ids": ["PIM-8"],
    "policy_version": "2026-12-01.1",
    "statement_of_reasons": "",
    "automated": True,
    "decided_at": "2026-12-01T12:00:00.000Z",
    "appeal_deadline": "2027-06-02T12:00:00.000Z",
    "submitted_at": "2026-12-01T12:00:00.000Z",
    "reason": "post_deleted",
    "unfounded_count": 3,
    "window_days": 90,
    "suspend_after": 5,
    "suspension_days": 30,
    "suspended_until": "2026-12-31T12:00:00.000Z",
    "removed": False,
    "missing_confirmations": ["information_is_mine", "not_published_elsewhere"],
    "add_confirmations": "/reports/r_xxxxxxxxxxxxxxxxxxxxxxxxxx/confirmations",
}
_DICTIONARY_VARIANTS: tuple[dict[str, Any], ...] = (
    {},
    {"category": "contact_information", "outcome": "no_violation", "enforcement": None, "measures": []},
    {"automated": False, "source": "appeal", "removed": True, "missing_confirmations": []},
)


def build_text_dictionary(policy: Policy) -> bytes:
    """The preset dictionary for notification texts (models/notification_text.py): the text notices share, the
    policy's statement sentences first and the templates' sentences last (deflate reaches the nearest best).
    Run once to add a dictionary version; a released version's file is never rebuilt."""
    index = policy.index
    parts = [f"What was reported: {spec.label}. {spec.description}" for spec in index.categories.values()]
    parts += [f"{index.headings[rule_id]}: {index.texts[rule_id]}" for rule_id in index.texts]
    parts += [f"What happens: {text}" for text in index.outcome_texts.values()]
    parts += [f"What happens: {index.hidden_pending_review_text}", *index.enforcement_texts.values()]
    parts += [index.strike_text, index.automated_text, index.human_text, index.appeal_text, index.interim_text]
    seen: set[str] = set()
    for locale in sorted(LOCALES, reverse=True):  # "en", the most common, nearest the end
        for variant in _DICTIONARY_VARIANTS:
            for kind in NotificationKind:
                subject, text = render_text(kind, locale, {**_DICTIONARY_FACTS, **variant})
                # each sentence once: a variant adds only the paragraphs it changes
                for paragraph in (subject, *text.split("\n\n")):
                    if paragraph not in seen:
                        seen.add(paragraph)
                        parts.append(paragraph)
    data = "\n".join(parts).encode()
    if len(data) > 32768:
        raise ValueError(f"a text dictionary of {len(data)} bytes: deflate refers to the last 32 KB only")
    return data


class NotificationService:
    """Delivers notification requests, a batch at a time: one batch read for what the batch needs to know, then
    per notification one conditional put (and, with an address, one email before it).

    The in-app record is written once the email's outcome is known, so it is written once, with that outcome:
    no status update rewrites the item and its ListIndex copy on the way that works. Crash windows:
    - after the email, before the put: the message is retried, finds no record and sends again (at least once);
    - after the put: a redelivery reads the record (sent, or in-app only) and sends nothing;
    - the email fails: the record is put with `failed` (the inbox has it, the case file shows it), the message
      is retried; each retry updates that status (the failure path only) until it is `sent` or dead-lettered.
    """

    def __init__(
        self, repository: CaseRepository, email: EmailSender, clock: Clock = utc_now, policy: Policy | None = None
    ) -> None:
        self.repository = repository
        self.email = email
        self.clock = clock
        self._policy = policy

    def retention(self) -> timedelta:
        """How long a notification is kept: as long as its decision can be appealed, then the policy's retention
        (a statement of reasons must stay readable while it can be contested); then the table's TTL removes it."""
        if self._policy is not None:
            return timedelta(days=self._policy.appeal_window_days + self._policy.retention_days_after_appeal_window)
        # the two figures alone (policy/retention.py), not the whole document's models: cold start
        return load_retention().kept_for

    def prepare(self, requests: Iterable[NotificationRequest]) -> DeliveryState:
        """What a batch's deliveries need to know, in one read (the recipients' contexts, the records so far)."""
        requests = list(requests)
        return self.repository.delivery_state({r.recipient_id for r in requests}, {r.notification_id for r in requests})

    def deliver(self, request: NotificationRequest, state: DeliveryState | None = None) -> None:
        """Exactly once in effect: the in-app record is written once; email is sent until it is recorded as sent.

        `state` is the batch's read (prepare); without it, this request's own. It is kept current as the batch
        goes, so a second message with the same id in one batch is recognised.
        Raises DeliveryFailed when the email could not be sent: the message is retried, then dead-lettered.
        """
        if state is None:
            state = self.prepare([request])
        existing = state.notifications.get(request.notification_id)
        if existing is not None and existing.email_status in (EmailStatus.SENT, EmailStatus.NONE):
            metrics.add_metric(name="NotificationDuplicates", unit=MetricUnit.Count, value=1)
            logger.info("notification already delivered", notification_id=request.notification_id)
            return
        account = state.accounts.get(request.recipient_id)
        address = account.contact_email if account else None
        if existing is not None:
            # recorded before, its email not sent yet (failed, or pending from before the put waited for it)
            self._retry_email(existing, address, state)
            return
        locale = request.locale or (account.locale if account else "en")
        subject, text = render_text(request.kind, locale, dict(request.facts))
        now = self.clock()
        notification = Notification(
            notification_id=request.notification_id,
            recipient_id=request.recipient_id,
            kind=request.kind,
            locale=locale,
            subject=subject,
            body=text,
            case_id=request.case_id,
            report_id=request.report_id,
            created_at=now,
            email_status=EmailStatus.NONE,
            expires_at=now + self.retention(),
        )
        if not address:
            self._record(notification, state)
            logger.info(
                "notification recorded in-app", notification_id=notification.notification_id, kind=request.kind.value
            )
            return
        try:
            self.email.send(address, subject, text, email_html(locale, subject, text))
        except DeliveryFailed as exc:
            self._record(notification.model_copy(update={"email_status": EmailStatus.FAILED, "attempts": 1}), state)
            self._email_failed(notification, 1, exc)
            raise
        self._record(notification.model_copy(update={"email_status": EmailStatus.SENT, "attempts": 1}), state)
        self._email_sent(notification)

    def _record(self, notification: Notification, state: DeliveryState) -> None:
        if self.repository.create_notification(notification):
            metrics.add_metric(name=f"Notification_{notification.kind.value}", unit=MetricUnit.Count, value=1)
        else:  # a twin delivery recorded it between our read and our put: one record all the same
            metrics.add_metric(name="NotificationDuplicates", unit=MetricUnit.Count, value=1)
            logger.info("notification recorded by another delivery", notification_id=notification.notification_id)
        state.notifications[notification.notification_id] = notification

    def _retry_email(self, notification: Notification, address: str | None, state: DeliveryState) -> None:
        if not address:
            logger.info("notification has no address to email now", notification_id=notification.notification_id)
            return
        attempts = notification.attempts + 1
        html = email_html(notification.locale, notification.subject, notification.body)
        try:
            self.email.send(address, notification.subject, notification.body, html)
        except DeliveryFailed as exc:
            self.repository.set_email_status(notification.notification_id, EmailStatus.FAILED, attempts)
            state.notifications[notification.notification_id] = notification.model_copy(update={"attempts": attempts})
            self._email_failed(notification, attempts, exc)
            raise
        self.repository.set_email_status(notification.notification_id, EmailStatus.SENT, attempts)
        state.notifications[notification.notification_id] = notification.model_copy(
            update={"email_status": EmailStatus.SENT, "attempts": attempts}
        )
        self._email_sent(notification)

    def _email_failed(self, notification: Notification, attempts: int, exc: DeliveryFailed) -> None:
        if notification.case_id:
            # the case file shows a notification that does not go out (written on failure only: no hot path)
            self.repository.record_notification_failure(
                notification.case_id, notification.notification_id, notification.kind.value, attempts
            )
        metrics.add_metric(name="EmailSendFailed", unit=MetricUnit.Count, value=1)
        logger.warning(
            "email not sent; will be retried",
            notification_id=notification.notification_id,
            attempts=attempts,
            error=str(exc),
        )

    @staticmethod
    def _email_sent(notification: Notification) -> None:
        metrics.add_metric(name="EmailsSent", unit=MetricUnit.Count, value=1)
        logger.info(
            "notification delivered",
            notification_id=notification.notification_id,
            kind=notification.kind.value,
            email=True,
        )

    def inbox(
        self, recipient_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Notification], dict[str, Any] | None]:
        return self.repository.inbox(recipient_id, limit, start)
