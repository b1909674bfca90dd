"""The PDQ index snapshot in S3: a header line, then N hashes of 32 bytes, then N entry ids of fixed width.

Written by the bank index function from BankIndex (no numpy needed to write it); loaded once per warm container by
the matching function. Entries newer than the snapshot's watermark are found through the delta partitions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

MAGIC = b"consent-guard/pdq-snapshot/1\n"
SNAPSHOT_KEY = "pdq/snapshot.bin"
ID_WIDTH = 26  # "b_" + 24 base32 characters (repository/bank.py, services/banking.py)


@dataclass(frozen=True)
class SnapshotHeader:
    count: int
    watermark: datetime  # every active entry created before it is in the snapshot
    built_at: datetime
    id_width: int = ID_WIDTH


def encode(entries: Iterable[tuple[str, str]], watermark: datetime, built_at: datetime) -> bytes:
    """(entry id, pdq hex) pairs -> snapshot bytes."""
    hashes: list[bytes] = []
    ids: list[bytes] = []
    for entry_id, pdq in entries:
        raw_id = entry_id.encode("ascii")
        if len(raw_id) != ID_WIDTH:
            continue  # not an id this format can carry (never written by this code)
        hashes.append(bytes.fromhex(pdq))
        ids.append(raw_id)
    header = {
        "count": len(ids),
        "watermark": watermark.isoformat(),
        "built_at": built_at.isoformat(),
        "id_width": ID_WIDTH,
    }
    return MAGIC + json.dumps(header).encode() + b"\n" + b"".join(hashes) + b"".join(ids)


def decode_header(blob: bytes) -> tuple[SnapshotHeader, int]:
    """The header and the offset where the hashes start."""
    if not blob.startswith(MAGIC):
        raise ValueError("not a PDQ snapshot")
    end = blob.index(b"\n", len(MAGIC))
    raw = json.loads(blob[len(MAGIC) : end])
    header = SnapshotHeader(
        count=int(raw["count"]),
        watermark=datetime.fromisoformat(raw["watermark"]),
        built_at=datetime.fromisoformat(raw["built_at"]),
        id_width=int(raw["id_width"]),
    )
    if len(blob) != end + 1 + header.count * (32 + header.id_width):
        raise ValueError("truncated PDQ snapshot")
    return header, end + 1
