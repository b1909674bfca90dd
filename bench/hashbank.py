"""Hash bank benchmark: recall and lookup latency of the PDQ index at 100k, 1M (and 10M) synthetic entries.

Each query has planted neighbours at distances 0, 16, 17, 31 (must be found: the review threshold is 31) and 32
(must not be). The index is the one MediaMatchingFunction runs (consent_guard.matching.pdq_index), built from the
snapshot bytes the indexer writes (consent_guard.matching.snapshot), so "build" here is what a warm container pays
once: decode + index. Latency is the lookup's CPU time on one thread (the machine is shared: wall time is noise),
with the wall time alongside. A sample of queries is checked against brute force (identical results).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from consent_guard.matching.pdq_index import PdqIndex, load_snapshot_arrays
from consent_guard.matching.snapshot import ID_WIDTH, MAGIC, decode_header

PLANTED = (0, 16, 17, 31, 32)
THRESHOLD = 31


@dataclass
class HashbankRun:
    entries: int
    queries: int
    snapshot_bytes: int
    encode_s: float  # the indexer's part: hashes and ids to snapshot bytes
    build_s: float  # the matcher's part, once per warm container: decode + multi-index build (CPU, one thread)
    build_wall_s: float
    index_mb: float
    found: dict[int, int] = field(default_factory=dict)  # planted distance -> how many were returned
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)  # matches within 31 per lookup
    brute_force_checked: int = 0
    brute_force_mismatches: int = 0

    @property
    def recall(self) -> float:
        within = [d for d in PLANTED if d <= THRESHOLD]
        return sum(self.found[d] for d in within) / (len(within) * self.queries)

    @property
    def false_at_32(self) -> int:
        return self.found.get(32, 0)

    def percentile(self, values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def summary(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "queries": self.queries,
            "recall_up_to_31": round(self.recall, 6),
            "found_by_planted_distance": {str(d): f"{self.found[d]}/{self.queries}" for d in PLANTED},
            "lookup_cpu_ms": {
                "p50": round(statistics.median(self.cpu_ms), 3),
                "p99": round(self.percentile(self.cpu_ms, 99), 3),
                "max": round(max(self.cpu_ms), 3),
            },
            "lookup_wall_ms": {
                "p50": round(statistics.median(self.wall_ms), 3),
                "p99": round(self.percentile(self.wall_ms, 99), 3),
            },
            "matches_per_lookup_p50": int(statistics.median(self.returned)),
            "snapshot_mb": round(self.snapshot_bytes / 2**20, 1),
            "snapshot_encode_s": round(self.encode_s, 2),
            "index_build_cpu_s": round(self.build_s, 2),
            "index_build_wall_s": round(self.build_wall_s, 2),
            "index_mb": round(self.index_mb, 1),
            "brute_force_checked": self.brute_force_checked,
            "brute_force_mismatches": self.brute_force_mismatches,
        }


def _flip(rng: np.random.Generator, row: np.ndarray[Any, Any], bits: int) -> np.ndarray[Any, Any]:
    unpacked = np.unpackbits(row)
    unpacked[rng.choice(256, size=bits, replace=False)] ^= 1
    return np.packbits(unpacked)


def _snapshot_bytes(hashes: np.ndarray[Any, Any], ids: np.ndarray[Any, Any]) -> tuple[bytes, float]:
    """What the indexer writes (snapshot.encode does this per item from DynamoDB's hex; here from arrays)."""
    started = time.perf_counter()
    header = (
        f'{{"count": {len(hashes)}, "watermark": "{datetime.now(UTC).isoformat()}", '
        f'"built_at": "{datetime.now(UTC).isoformat()}", "id_width": {ID_WIDTH}}}'
    )
    blob = MAGIC + header.encode() + b"\n" + hashes.tobytes() + ids.tobytes()
    return blob, time.perf_counter() - started


def measure(entries: int, queries: int, seed: int = 14, brute_force_sample: int = 20) -> HashbankRun:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 256, size=(entries, 32), dtype=np.uint8)
    query_rows = rng.integers(0, 256, size=(queries, 32), dtype=np.uint8)
    planted_rows = rng.choice(entries, size=(queries, len(PLANTED)), replace=False)
    for q in range(queries):
        for k, bits in enumerate(PLANTED):
            hashes[planted_rows[q, k]] = _flip(rng, query_rows[q], bits)
    ids = np.array([f"b_{i:024d}".encode() for i in range(entries)], dtype=f"S{ID_WIDTH}")
    blob, encode_s = _snapshot_bytes(hashes, ids)
    del hashes, ids

    started, started_cpu = time.perf_counter(), time.thread_time()
    header, offset = decode_header(blob)
    snap_hashes, snap_ids = load_snapshot_arrays(blob, offset, header.count, header.id_width)
    index = PdqIndex(snap_hashes, snap_ids)
    build_s, build_wall_s = time.thread_time() - started_cpu, time.perf_counter() - started
    index_mb = (sum(a.nbytes for a in index.order) + sum(a.nbytes for a in index.sorted) + index.words.nbytes) / 2**20

    run = HashbankRun(
        entries, queries, len(blob), encode_s, build_s, build_wall_s, index_mb, found=dict.fromkeys(PLANTED, 0)
    )
    planted_ids = {(q, bits): f"b_{planted_rows[q, k]:024d}" for q in range(queries) for k, bits in enumerate(PLANTED)}
    for _ in range(3):  # warm-up: a warm container
        index.search(query_rows[0].tobytes(), THRESHOLD)
    for q in range(queries):
        query = query_rows[q].tobytes()
        wall0, cpu0 = time.perf_counter_ns(), time.thread_time_ns()
        hits = index.search(query, THRESHOLD)
        cpu1, wall1 = time.thread_time_ns(), time.perf_counter_ns()
        run.cpu_ms.append((cpu1 - cpu0) / 1e6)
        run.wall_ms.append((wall1 - wall0) / 1e6)
        run.returned.append(len(hits))
        returned = {entry_id for entry_id, _ in hits}
        for bits in PLANTED:
            if planted_ids[q, bits] in returned:
                run.found[bits] += 1
        if q < brute_force_sample:
            run.brute_force_checked += 1
            if index.brute_force(query, THRESHOLD) != hits:
                run.brute_force_mismatches += 1
    return run
