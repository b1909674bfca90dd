"""The matcher behind MediaMatchingFunction: exact tiers from DynamoDB, PDQ from the S3 snapshot (loaded once per
warm container, re-checked by ETag every few minutes) plus the delta of entries newer than the snapshot.

It only proposes candidates. Whoever acts on them (POST /media/matches here, case opening in the evaluation
function) re-reads each entry from the table first, so a stale snapshot can never cause a wrong removal.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from consent_guard.auth import Principal
from consent_guard.clock import Clock, utc_now
from consent_guard.errors import StorageUnavailable
from consent_guard.matching.pdq_index import PdqIndex, load_snapshot_arrays
from consent_guard.matching.snapshot import SNAPSHOT_KEY, decode_header
from consent_guard.messaging import DeliveryFailed, QueuePublisher
from consent_guard.models import api
from consent_guard.models.domain import BankMatch, MediaSignals
from consent_guard.models.messages import MatchCandidate, MatchPost, MediaCandidates, MediaMatched
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import Policy, load_policy, match_verdict
from consent_guard.repository import CaseRepository
from consent_guard.repository.bank import BankRepository, Candidates

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SNAPSHOT_RECHECK_SECONDS = 120  # a warm container asks S3 (If-None-Match) whether a newer snapshot exists
DELTA_CACHE_SECONDS = 10  # the delta is re-read at most this often: new entries matchable within ~60 s overall
MAX_DELTA_HOURS = 24  # the delta reaches back at most this far (a snapshot older than that raises a metric)


@dataclass
class _Snapshot:
    index: PdqIndex
    watermark: datetime
    etag: str | None
    checked: float


class PdqMatcher:
    """Candidates for one media item's signals."""

    def __init__(
        self,
        repository: CaseRepository,
        s3: S3Client | None,
        bucket: str,
        clock: Clock = utc_now,
        policy: Policy | None = None,
    ) -> None:
        self.banks = BankRepository(repository)
        self._s3 = s3
        self.bucket = bucket
        self.clock = clock
        self.policy = policy or load_policy()
        self._snapshot: _Snapshot | None = None
        self._delta: tuple[float, datetime, PdqIndex] | None = None
        self._lock = threading.Lock()

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            import boto3

            from consent_guard.repository import SDK_CONFIG

            self._s3 = boto3.client("s3", config=SDK_CONFIG)
        return self._s3

    # ------------------------------------------------------------ the snapshot and the delta

    def snapshot(self) -> _Snapshot:
        now = time.monotonic()
        current = self._snapshot
        if current is not None and now - current.checked < SNAPSHOT_RECHECK_SECONDS:
            return current
        with self._lock:
            current = self._snapshot
            if current is not None and time.monotonic() - current.checked < SNAPSHOT_RECHECK_SECONDS:
                return current
            self._snapshot = self._load(current)
            return self._snapshot

    def _load(self, current: _Snapshot | None) -> _Snapshot:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": SNAPSHOT_KEY}
        if current is not None and current.etag:
            kwargs["IfNoneMatch"] = current.etag
        started = time.perf_counter()
        try:
            response = self.s3.get_object(**kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("304", "NotModified") and current is not None:
                current.checked = time.monotonic()
                return current
            if code in ("NoSuchKey", "404"):
                # no snapshot yet (a new deployment): the delta covers the recent past
                metrics.add_metric(name="PdqSnapshotMissing", unit=MetricUnit.Count, value=1)
                logger.warning("no PDQ index snapshot yet; matching against the delta only")
                empty = PdqIndex.from_hex([])
                return _Snapshot(empty, self.clock() - timedelta(hours=MAX_DELTA_HOURS), None, time.monotonic())
            raise StorageUnavailable("the PDQ index is temporarily unavailable", error_code=code) from exc
        blob = response["Body"].read()
        header, offset = decode_header(blob)
        hashes, ids = load_snapshot_arrays(blob, offset, header.count, header.id_width)
        index = PdqIndex(hashes, ids)
        elapsed_ms = (time.perf_counter() - started) * 1000
        metrics.add_metric(name="PdqSnapshotLoadMs", unit=MetricUnit.Milliseconds, value=elapsed_ms)
        logger.info("PDQ index snapshot loaded", entries=header.count, load_ms=round(elapsed_ms))
        return _Snapshot(index, header.watermark, response.get("ETag"), time.monotonic())

    def delta(self, since: datetime) -> PdqIndex:
        now = time.monotonic()
        cached = self._delta
        if cached is not None and now - cached[0] < DELTA_CACHE_SECONDS and cached[1] == since:
            return cached[2]
        wall = self.clock()
        if wall - since > timedelta(hours=MAX_DELTA_HOURS):
            metrics.add_metric(name="PdqSnapshotStale", unit=MetricUnit.Count, value=1)
            since = wall - timedelta(hours=MAX_DELTA_HOURS)
        index = PdqIndex.from_hex(self.banks.pdq_delta(since, wall))
        self._delta = (now, since, index)
        return index

    # ------------------------------------------------------------ lookups

    def candidates(self, signals: MediaSignals) -> Candidates:
        """Exact hashes (one Query each) and PDQ within the review distance (snapshot + delta)."""
        found = self.banks.exact_matches(signals)
        hm = self.policy.hash_matching
        if signals.pdq and signals.pdq_quality is not None and signals.pdq_quality >= hm.pdq_min_quality:
            query = bytes.fromhex(signals.pdq)
            snapshot = self.snapshot()
            for entry_id, distance in snapshot.index.search(query, hm.pdq_review_distance):
                found.add(entry_id, "pdq", distance)
            for entry_id, distance in self.delta(snapshot.watermark).search(query, hm.pdq_review_distance):
                found.add(entry_id, "pdq", distance)
        return found

    def check(self, principal: Principal, request: api.MediaMatchRequest) -> api.MediaMatchResult:
        """POST /media/matches: what the policy says about one media item, from entries as stored right now."""
        principal.require_platform()
        signals = MediaSignals(md5=request.md5, sha256=request.sha256, pdq=request.pdq, pdq_quality=request.pdq_quality)
        found = self.candidates(signals)
        entries = self.banks.entries(found.found)
        matches = [
            BankMatch(entry=entries[entry_id], signal=signal, distance=distance)
            for entry_id, (signal, distance) in found.found.items()
            if entry_id in entries
        ]
        verdict = match_verdict(matches, signals.pdq_quality, self.policy)
        metrics.add_metric(name=f"MatchCheck_{verdict.action.value}", unit=MetricUnit.Count, value=1)
        logger.info("media checked", action=verdict.action.value, rule_id=verdict.rule_id, matches=len(verdict.used))
        hm = self.policy.hash_matching
        return api.MediaMatchResult(
            action=verdict.action.value,
            rule_id=verdict.rule_id,
            category=verdict.category.value if verdict.category else None,
            policy_version=self.policy.version,
            matches=[
                api.MatchView(
                    entry_id=m.entry.entry_id,
                    bank=m.entry.bank.value,
                    category=m.entry.category.value,
                    signal=m.signal,
                    distance=m.distance,
                    action=action.value,
                    rule_id=rule_id,
                )
                for m, action, rule_id in verdict.per_match
            ],
            pdq_used=bool(signals.pdq) and (signals.pdq_quality or 0) >= hm.pdq_min_quality,
        )

    def match_post(self, message: MatchPost, evaluation: QueuePublisher) -> None:
        """A post's context arrived with media signals: propose its candidates to the evaluation function."""
        post = self.banks.cases.get_post_context(message.post_id)
        if post is None:
            logger.warning("post to match not found", post_id=message.post_id)
            return
        media: list[MediaCandidates] = []
        for item in post.facts.media:
            if item.signals is None:
                continue
            found = self.candidates(item.signals)
            if found.found:
                media.append(
                    MediaCandidates(
                        media_id=item.media_id,
                        candidates=[
                            MatchCandidate(entry_id=e, signal=s, distance=d) for e, (s, d) in found.found.items()
                        ],
                    )
                )
        metrics.add_metric(name="PostsMatched", unit=MetricUnit.Count, value=1)
        if not media:
            logger.info("post media match no bank", post_id=message.post_id)
            return
        try:
            evaluation.send(MediaMatched(post_id=message.post_id, media=media))
        except DeliveryFailed as exc:
            raise StorageUnavailable("could not queue the matches", error_code=str(exc)) from exc
        logger.info("post media matched bank entries", post_id=message.post_id, media=len(media))
