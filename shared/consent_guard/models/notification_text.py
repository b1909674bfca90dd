"""A notification's stored text: exactly what was sent (subject and body), compressed against a fixed dictionary.

A notice is mostly text every notice shares: the template's sentences, the labels and the policy's rule texts.
Deflate with that text as a preset dictionary (zlib's `zdict`) stores only what differs (ids, dates, which rules):
a 2 KB statement of reasons becomes about 110 bytes, so every notification item fits in one write unit, in the
table and in its ListIndex copy. Nothing is rendered again on read: the bytes decode to the text that was sent.

A dictionary is data with a version: `templates/notification-text.v<N>.zdict`, its SHA-256 recorded in
DICTIONARIES. A released dictionary is never changed (items written with it must decode for as long as they are
kept; `load` refuses a file whose digest differs). When templates or policy texts drift so far that notices no
longer compress well (tests/unit/test_notification_text.py bounds the size), add version N+1 built by
`consent_guard.services.notifications.build_text_dictionary()` and make it CURRENT; older versions stay.
"""

from __future__ import annotations

import hashlib
import zlib
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DICTIONARIES: dict[int, str] = {
    1: "b05b734e279bff4c95f23812c9dda453d45d5e6f22905bde99e894e8eefc0d58",
}
CURRENT = 1
# the zlib format: its header names the dictionary (FDICT and DICTID, the dictionary's Adler-32), so the bytes say
# which dictionary they need (`unpack`, and items.unpacked for any packed attribute) and a mismatch cannot garble
_WBITS = 15


class UnknownTextVersion(ValueError):
    """A stored text names a dictionary this code does not have (or whose file is not the released one)."""


def dictionary_path(version: int) -> Path:
    return TEMPLATES / f"notification-text.v{version}.zdict"


@cache
def load(version: int) -> bytes:
    expected = DICTIONARIES.get(version)
    if expected is None:
        raise UnknownTextVersion(f"no notification text dictionary v{version}")
    data = dictionary_path(version).read_bytes()
    if hashlib.sha256(data).hexdigest() != expected:
        raise UnknownTextVersion(f"notification text dictionary v{version} is not the released file")
    return data


def encode(subject: str, body: str, version: int = CURRENT) -> bytes:
    """The stored form of a notice's text. The subject is one line (the templates' subject blocks are)."""
    if "\n" in subject:
        raise ValueError("a notification subject is one line")
    compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS, 9, zlib.Z_DEFAULT_STRATEGY, zdict=load(version))
    return compressor.compress(f"{subject}\n{body}".encode()) + compressor.flush()


def deflate(text: str, version: int = CURRENT) -> bytes:
    """Any text that quotes the templates' and the policy's texts (a statement, an outbox's notices), deflated
    against the dictionary; `unpack` (and items.unpacked) reads it back."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS, 9, zlib.Z_DEFAULT_STRATEGY, zdict=load(version))
    return compressor.compress(text.encode()) + compressor.flush()


def decode(data: bytes, version: int) -> tuple[str, str]:
    """(subject, body) exactly as encoded."""
    subject, _, body = _inflate(bytes(data), version).partition("\n")
    return subject, body


def uses_dictionary(data: bytes) -> bool:
    """Whether these are zlib bytes deflated against a preset dictionary (the header's FDICT flag)."""
    return len(data) > 6 and (data[0] & 0x0F) == 8 and (data[0] << 8 | data[1]) % 31 == 0 and bool(data[1] & 0x20)


def unpack(data: bytes) -> str:
    """The whole stored text (subject, newline, body), its dictionary found from the bytes' own header."""
    dictionary_id = int.from_bytes(data[2:6], "big")
    for version in DICTIONARIES:
        if zlib.adler32(load(version)) == dictionary_id:
            return _inflate(bytes(data), version)
    raise UnknownTextVersion("no notification text dictionary has this id")


def _inflate(data: bytes, version: int) -> str:
    decompressor = zlib.decompressobj(_WBITS, zdict=load(version))
    text = decompressor.decompress(data) + decompressor.flush()
    if not decompressor.eof:
        raise ValueError("a notification text is cut short")
    return text.decode()
