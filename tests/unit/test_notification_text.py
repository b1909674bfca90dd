"""A notification's stored text: what was sent, byte for byte, in one write unit, against a released dictionary."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consent_guard.models import items as it
from consent_guard.models import notification_text
from consent_guard.models.domain import EmailStatus, Notification, NotificationKind
from consent_guard.policy.document import load_policy
from consent_guard.services.notifications import LOCALES, build_text_dictionary, render_text

FACTS: dict[str, Any] = {
    "case_id": "c_q6woif4nqh7rgqrk2qfddirk",
    "post_id": "post-7781",
    "report_id": "r_agrde52xagwv7owfkqlk7i57ym",
    "category": "private_media",
    "outcome": "remove",
    "enforcement": "require_removal",
    "measures": ["content.hide", "account.lock"],
    "rule_ids": ["PIM-8", "PIM-A1"],
    "policy_version": "2026-12-01.2",
    "automated": True,
    "decided_at": "2026-12-01T16:36:51.712Z",
    "appeal_deadline": "2027-06-02T16:36:51.712Z",
    "submitted_at": "2026-12-01T16:36:51.585Z",
    "reason": "post_deleted",
    "unfounded_count": 3,
    "window_days": 90,
    "suspend_after": 5,
    "suspension_days": 30,
    "suspended_until": "2026-12-31T12:00:00.000Z",
    "removed": False,
    "missing_confirmations": ["information_is_mine"],
    "add_confirmations": "/reports/r_agrde52xagwv7owfkqlk7i57ym/confirmations",
}


def _statement() -> str:
    """A real statement of reasons, with its enforcement and strike sentences (the longest kind there is)."""
    from consent_guard.models.domain import Category, Enforcement, Outcome
    from consent_guard.policy import engine

    policy = load_policy()
    rules = tuple(r.id for r in policy.rules if Category.PRIVATE_MEDIA in r.categories)[:3]
    return engine._statement(
        policy.index,
        policy.index.categories[Category.PRIVATE_MEDIA],
        rules,
        Outcome.REMOVE,
        Enforcement.REQUIRE_REMOVAL,
        True,
    )


def _notification(kind: NotificationKind, locale: str, subject: str, body: str) -> Notification:
    at = datetime(2026, 12, 1, 16, 36, 51, 712000, tzinfo=UTC)
    return Notification(
        notification_id="n_c384c2a3beffbf6e28d6a4ab24cb1224",
        recipient_id="user-bob-with-a-longer-account-id",
        kind=kind,
        locale=locale,
        subject=subject,
        body=body,
        case_id=str(FACTS["case_id"]),
        report_id=str(FACTS["report_id"]),
        created_at=at,
        email_status=EmailStatus.SENT,
        attempts=1,
        expires_at=at,
    )


def _item_size(item: it.Item) -> int:
    from bench.awscalls import item_size
    from consent_guard.repository import _av

    return item_size(_av(item))


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_notice_is_stored_exactly_and_fits_one_write_unit(kind: NotificationKind, locale: str) -> None:
    subject, body = render_text(kind, locale, {**FACTS, "statement_of_reasons": _statement()})
    notification = _notification(kind, locale, subject, body)

    item = it.notification_to_item(notification)

    assert "subject" not in item and "body" not in item and item["text_v"] == notification_text.CURRENT
    restored = it.notification_from_item(item)
    assert (restored.subject, restored.body) == (subject, body)  # what was sent, byte for byte
    # within 1 KB, so the put and its ListIndex copy are one write unit each; when templates or policy texts drift
    # far from the released dictionary this fails: add the next dictionary version (models/notification_text.py)
    assert _item_size(item) <= 1024, (len(body.encode()), len(item["text"]))


def test_a_notice_the_dictionary_does_not_know_still_round_trips() -> None:
    subject, body = "Ein völlig neuer Betreff ✓", "Text, den kein Wörterbuch kennt: " + "xyzzy " * 400
    data = notification_text.encode(subject, body)
    assert notification_text.decode(data, notification_text.CURRENT) == (subject, body)


def test_a_subject_is_one_line() -> None:
    with pytest.raises(ValueError, match="one line"):
        notification_text.encode("two\nlines", "body")


def test_every_released_dictionary_is_the_file_that_was_released() -> None:
    assert notification_text.CURRENT in notification_text.DICTIONARIES
    for version, digest in notification_text.DICTIONARIES.items():
        data = notification_text.dictionary_path(version).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"v{version} was changed: add a new version instead"
        assert len(data) <= 32768  # deflate can refer to the last 32 KB of a dictionary only
        assert notification_text.load(version) == data


def test_an_unknown_or_altered_dictionary_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(notification_text.UnknownTextVersion):
        notification_text.decode(b"\x03\x00", 99)
    altered = tmp_path / "notification-text.v1.zdict"
    altered.write_bytes(notification_text.dictionary_path(1).read_bytes() + b" ")
    monkeypatch.setattr(notification_text, "TEMPLATES", tmp_path)
    notification_text.load.cache_clear()
    try:
        with pytest.raises(notification_text.UnknownTextVersion, match="not the released file"):
            notification_text.load(1)
    finally:
        monkeypatch.undo()
        notification_text.load.cache_clear()


def test_the_dictionary_builder_fits_deflates_window_and_covers_todays_texts() -> None:
    """What the next version would be built from: within 32 KB, with the policy's sentences and every template's."""
    data = build_text_dictionary(load_policy()).decode()
    assert len(data.encode()) <= 32768
    assert load_policy().index.appeal_text in data
    assert render_text(NotificationKind.RECEIPT, "en", FACTS)[0] in data


def test_an_item_written_before_the_text_was_compressed_is_read_as_it_was() -> None:
    item = it.notification_to_item(_notification(NotificationKind.RECEIPT, "en", "We received your report", "Thanks."))
    del item["text"], item["text_v"]
    item |= {"subject": "We received your report", "body": "Thanks."}
    restored = it.notification_from_item(item)
    assert (restored.subject, restored.body) == ("We received your report", "Thanks.")


def test_the_stored_bytes_name_their_dictionary_so_any_reader_can_unpack_them() -> None:
    subject, body = render_text(NotificationKind.RECEIPT, "de", FACTS)
    data = notification_text.encode(subject, body)
    assert notification_text.uses_dictionary(data)
    assert it.unpacked(data) == f"{subject}\n{body}"  # as the checks that look inside every packed attribute do
    assert not notification_text.uses_dictionary(it.packed("a decision"))
    assert it.unpacked(it.packed("a decision")) == "a decision"
    with pytest.raises(ValueError, match="cut short"):
        notification_text.decode(data[:-6], notification_text.CURRENT)


def test_a_value_quoting_the_policys_texts_packs_against_the_dictionary_and_reads_back() -> None:
    """A statement of reasons, a decision's texts and an outbox's notices quote the policy: packed against the
    dictionary they are a fraction of plain zlib, and `unpacked` reads both forms (items written before stay)."""
    index = load_policy().index
    rule_ids = ["PIM-8", "PIM-A1", "PIM-1"]
    text = json.dumps({"statement_of_reasons": "\n".join(f"{index.headings[r]}: {index.texts[r]}" for r in rule_ids)})
    against_texts = it.packed(text, policy_text=True)
    plain = it.packed(text)
    assert it.unpacked(against_texts) == text == it.unpacked(plain)
    assert notification_text.uses_dictionary(against_texts) and not notification_text.uses_dictionary(plain)
    assert len(against_texts) < len(plain) / 2
