"""Notification delivery: render from templates, record in-app exactly once, email through SES v2.

Notifications carry ids, categories, rules and outcomes, never what was reported (no description, no post text):
the templates only receive the non-personal facts of the NotificationRequest.
"""

from __future__ import annotations

import json
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


def render(kind: NotificationKind, locale: str, facts: dict[str, Any]) -> Rendered:
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
    html = (
        _environment()
        .get_template("email.html.j2")
        .render(locale=locale, subject=subject, paragraphs=[p for p in text.split("\n\n") if p.strip()])
    )
    return Rendered(subject=subject, text=text, html=html)


class NotificationService:
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

    def deliver(self, request: NotificationRequest) -> None:
        """Exactly once in effect: the in-app record is written once; email is sent until it is marked sent.

        Raises DeliveryFailed when the email could not be sent: the message is retried, then dead-lettered.
        """
        # written first, conditionally (no read before the write): only a repeat pays the read that follows
        account = self.repository.get_account_context(request.recipient_id)
        address = account.contact_email if account else None
        locale = request.locale or (account.locale if account else "en")
        rendered = render(request.kind, locale, dict(request.facts))
        now = self.clock()
        notification = Notification(
            notification_id=request.notification_id,
            recipient_id=request.recipient_id,
            kind=request.kind,
            locale=locale,
            subject=rendered.subject,
            body=rendered.text,
            case_id=request.case_id,
            report_id=request.report_id,
            created_at=now,
            email_status=EmailStatus.PENDING if address else EmailStatus.NONE,
            expires_at=now + self.retention(),
        )
        if self.repository.create_notification(notification):
            metrics.add_metric(name=f"Notification_{request.kind.value}", unit=MetricUnit.Count, value=1)
        else:
            existing = self.repository.get_notification(request.notification_id)
            if existing is None or existing.email_status in (EmailStatus.SENT, EmailStatus.NONE):
                metrics.add_metric(name="NotificationDuplicates", unit=MetricUnit.Count, value=1)
                logger.info("notification already delivered", notification_id=request.notification_id)
                return
            notification = existing  # recorded before, its email not sent yet: send it now
        if not address or notification.email_status == EmailStatus.NONE:
            logger.info(
                "notification recorded in-app",
                notification_id=notification.notification_id,
                kind=notification.kind.value,
            )
            return
        rendered = render(notification.kind, notification.locale, dict(request.facts))
        attempts = notification.attempts + 1
        try:
            self.email.send(address, rendered.subject, rendered.text, rendered.html)
        except DeliveryFailed as exc:
            self.repository.set_email_status(notification.notification_id, EmailStatus.FAILED, attempts)
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
            raise
        self.repository.set_email_status(notification.notification_id, EmailStatus.SENT, attempts)
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
