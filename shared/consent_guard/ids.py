"""Identifiers. Report ids sort by time; case ids are derived from (post, category) so reports fold."""

from __future__ import annotations

import hashlib
import os
import time
from base64 import b32encode

_ALPHABET_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "abcdefghijklmnopqrstuvwxyz234567")


def _b32(data: bytes) -> str:
    return b32encode(data).decode().rstrip("=").translate(_ALPHABET_LOWER)


def digest(*parts: str) -> str:
    """Stable hash of parts, used wherever a key must not carry the value itself."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def new_report_id() -> str:
    # 48-bit millisecond time + 80 random bits: unique, and sortable by submission time
    stamp = int(time.time() * 1000).to_bytes(6, "big")
    return "r_" + _b32(stamp + os.urandom(10))


def case_id_for(post_id: str, category: str) -> str:
    return "c_" + _b32(hashlib.sha256(f"{post_id}\x1f{category}".encode()).digest()[:15])


def shard_of(value: str, shards: int) -> int:
    return int(hashlib.sha256(value.encode()).hexdigest()[:8], 16) % shards


def notification_id_for(event_id: str, recipient_id: str, kind: str) -> str:
    return "n_" + digest(event_id, recipient_id, kind)[:32]
