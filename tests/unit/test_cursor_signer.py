"""Cursors the service never issued are a 400 (InvalidCursor), whatever their characters."""

from __future__ import annotations

import pytest

from consent_guard.cursors import CursorSigner, InvalidCursor

KEYS = frozenset({"LPK"})


@pytest.mark.parametrize("cursor", ["õU\U000f4a7b.x", "abc.é", "plain-without-dot", "e30.0000"])
def test_a_cursor_never_issued_is_invalid_not_an_error(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorSigner("k" * 32).decode(cursor, "binding", KEYS)


def test_an_issued_cursor_opens_for_its_binding_only() -> None:
    signer = CursorSigner("k" * 32)
    cursor = signer.encode({"LPK": {"S": "CASE#1#0"}}, "binding")
    assert signer.decode(cursor, "binding", KEYS) == {"LPK": {"S": "CASE#1#0"}}
    with pytest.raises(InvalidCursor):
        signer.decode(cursor, "other", KEYS)
