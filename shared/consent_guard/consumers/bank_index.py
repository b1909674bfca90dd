"""Behind BankIndexFunction: rebuild the PDQ index snapshot from BankIndex (Query per shard, never Scan) and put
it in S3, where every warm matching container picks it up. No numpy: the snapshot is plain bytes."""

from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

from consent_guard.clock import utc_now
from consent_guard.config import indexer_settings
from consent_guard.matching.snapshot import SNAPSHOT_KEY, encode
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.repository import SDK_CONFIG, CaseRepository
from consent_guard.repository.bank import PDQ_SHARDS, BankRepository

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# entries created this long before a rebuild starts may still be missing from the GSI read (it is eventually
# consistent): the snapshot's watermark is set back by it, so the matchers' delta covers them
WATERMARK_MARGIN = timedelta(minutes=5)


@cache
def s3_client() -> S3Client:
    return boto3.client("s3", config=SDK_CONFIG)


def build_snapshot(banks: BankRepository) -> tuple[bytes, int]:
    started = utc_now()

    def read(context: contextvars.Context, shard: int) -> list[tuple[str, str]]:
        # each shard's Queries run in the invocation's context (log keys, instrumentation) on a worker thread
        return context.run(lambda: list(banks.pdq_shard(shard)))

    contexts = [contextvars.copy_context() for _ in range(PDQ_SHARDS)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        shards = list(pool.map(read, contexts, range(PDQ_SHARDS)))
    entries = [pair for shard in shards for pair in shard]
    return encode(entries, watermark=started - WATERMARK_MARGIN, built_at=utc_now()), len(entries)


def run_index_build(event: Any, context: Any) -> dict[str, Any]:
    del event, context
    settings = indexer_settings()
    started = time.perf_counter()
    blob, count = build_snapshot(BankRepository(CaseRepository(settings.table_name)))
    s3_client().put_object(Bucket=settings.snapshot_bucket, Key=SNAPSHOT_KEY, Body=blob)
    elapsed = time.perf_counter() - started
    metrics.add_metric(name="PdqIndexEntries", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="PdqIndexBuildMs", unit=MetricUnit.Milliseconds, value=elapsed * 1000)
    logger.info("PDQ index snapshot written", entries=count, bytes=len(blob), build_ms=round(elapsed * 1000))
    return {"entries": count, "bytes": len(blob)}
