"""The policy's hash-matching rules (pure), the PDQ index against brute force, and numpy staying out of every
function but the matcher."""

from __future__ import annotations

import itertools
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pytest

from consent_guard.matching.pdq_index import PdqIndex
from consent_guard.matching.snapshot import decode_header, encode
from consent_guard.models.domain import (
    Bank,
    BankEntry,
    BankMatch,
    Category,
    EntryStatus,
    MediaSignals,
    MediaType,
    Outcome,
    PostFacts,
)
from consent_guard.policy import MatchAction, MatchCaseFacts, decide_match, load_policy, match_verdict
from consent_guard.policy.document import BANK_MATCH_TRIGGERS
from tests.conftest import ROOT

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entry(
    bank: Bank = Bank.REMOVED,
    status: EntryStatus = EntryStatus.ACTIVE,
    category: Category = Category.INTIMATE_MEDIA,
    quality: int = 90,
    entry_id: str = "b_" + "a" * 24,
) -> BankEntry:
    return BankEntry(
        entry_id=entry_id,
        bank=bank,
        status=status,
        category=category,
        media_type=MediaType.PHOTO,
        signals=MediaSignals(pdq="0" * 64, pdq_quality=quality),
        origin="decision",
        origin_case_id="c_x",
        origin_decided_at=NOW,
        origin_rule_ids=("PIM-10", "PIM-E3"),
        created_at=NOW,
        updated_at=NOW,
    )


def pdq(distance: int, **kwargs: object) -> BankMatch:
    return BankMatch(entry=entry(**kwargs), signal="pdq", distance=distance)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("distance", "action", "rule"),
    [
        (0, "block", "PIM-M1"),
        (16, "block", "PIM-M1"),
        (17, "review", "PIM-M2"),
        (31, "review", "PIM-M2"),
        (32, "none", None),
    ],
)
def test_removed_bank_distance_boundaries(distance: int, action: str, rule: str | None) -> None:
    verdict = match_verdict([pdq(distance)], pdq_quality=80)
    assert (verdict.action.value, verdict.rule_id) == (action, rule)


@pytest.mark.parametrize(("quality", "used"), [(49, False), (50, True)])
def test_pdq_quality_boundary_on_the_upload_and_on_the_entry(quality: int, used: bool) -> None:
    expected = MatchAction.BLOCK if used else MatchAction.NONE
    assert match_verdict([pdq(3)], pdq_quality=quality).action is expected
    assert match_verdict([pdq(3, quality=quality)], pdq_quality=90).action is expected
    exact = BankMatch(entry=entry(quality=10), signal="sha256", distance=0)
    assert match_verdict([exact], pdq_quality=quality).action is MatchAction.BLOCK  # exact hashes still count


def test_protected_is_review_never_removal_and_intimate_is_top_priority() -> None:
    verdict = match_verdict([pdq(0, bank=Bank.PROTECTED)], pdq_quality=90)
    assert (verdict.action, verdict.rule_id) == (MatchAction.REVIEW, "PIM-M3")
    assert match_verdict([pdq(31, bank=Bank.PROTECTED)], 90).action is MatchAction.REVIEW
    assert match_verdict([pdq(32, bank=Bank.PROTECTED)], 90).action is MatchAction.NONE
    post = PostFacts(post_id="p", author_id="u", created_at=NOW)
    decision = decide_match(MatchCaseFacts(case_id="c", verdict=verdict, post=post, now=NOW))
    assert decision.outcome is Outcome.NEEDS_REVIEW and decision.review_priority == 0
    private = match_verdict([pdq(0, bank=Bank.PROTECTED, category=Category.PRIVATE_MEDIA)], 90)
    decided = decide_match(MatchCaseFacts(case_id="c", verdict=private, post=post, now=NOW))
    assert decided.review_priority == 3  # the policy's "everything else" tier, below intimate media


def test_cleared_suppresses_automation_and_disabled_never_acts() -> None:
    cleared = pdq(5, bank=Bank.CLEARED, entry_id="b_" + "c" * 24)
    both = match_verdict([pdq(0), cleared], 90)
    assert (both.action, both.rule_id) == (MatchAction.REVIEW, "PIM-M4")
    alone = match_verdict([cleared], 90)
    assert (alone.action, alone.rule_id) == (MatchAction.NONE, "PIM-M4")
    assert match_verdict([pdq(0, status=EntryStatus.DISABLED)], 90).action is MatchAction.NONE
    assert match_verdict([pdq(0, bank=Bank.PROTECTED, status=EntryStatus.DISABLED)], 90).action is MatchAction.NONE


def test_an_automatic_removal_explains_the_match_and_walks_the_ladder() -> None:
    verdict = match_verdict([pdq(12)], 90)
    post = PostFacts(post_id="p", author_id="u", created_at=NOW, is_reshare=True)
    decision = decide_match(MatchCaseFacts(case_id="c", verdict=verdict, post=post, now=NOW))
    assert decision.outcome is Outcome.REMOVE and decision.automated
    assert decision.rule_ids[0] == "PIM-M1" and decision.rule_ids[1].startswith("PIM-E")
    statement = decision.statement_of_reasons
    assert "matched automatically" in statement and "distance of 12 of 256" in statement
    assert "2026-12-01" in statement and "PIM-10" in statement and "How to appeal" in statement
    assert "b_" not in statement and "c_x" not in statement  # no ids in what the author is sent


def test_every_bank_match_rule_is_reached() -> None:
    policy = load_policy()
    emitted: set[str] = set()
    banks = list(Bank)
    for category, distances in itertools.product(policy.index.banked_categories, ([0], [20], [0, 5], [40])):
        for combo in itertools.product(banks, repeat=2):
            matches = [
                pdq(d, bank=b, category=category, entry_id=f"b_{i:024d}")
                for i, (d, b) in enumerate(zip(distances * 2, combo, strict=False))
            ]
            verdict = match_verdict(matches, 90)
            emitted |= {rule for _, _, rule in verdict.per_match}
            if verdict.rule_id:
                emitted.add(verdict.rule_id)
    assert emitted == {r.id for r in policy.rules if r.trigger in BANK_MATCH_TRIGGERS}


def test_the_index_is_exact_up_to_31_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 256, size=(20_000, 32), dtype=np.uint8)
    ids = np.array([f"b_{i:024d}".encode() for i in range(len(hashes))], dtype="S26")
    for i in range(0, 2000, 20):  # clusters of near neighbours, as real PDQ data has
        base = np.unpackbits(hashes[i])
        for k, bits in enumerate((0, 8, 16, 17, 24, 31, 32, 40)):
            flipped = base.copy()
            flipped[rng.choice(256, size=bits, replace=False)] ^= 1
            hashes[i + 1 + k] = np.packbits(flipped)
    index = PdqIndex(hashes, ids)
    for row in range(0, 2000, 20):
        query = hashes[row].tobytes()
        for limit in (16, 31):
            assert index.search(query, limit) == index.brute_force(query, limit)
        found = {d for _, d in index.search(query, 31)}
        assert 31 in found and 32 not in found


def test_the_snapshot_round_trips() -> None:
    pairs = [(f"b_{i:024d}", f"{i:064x}") for i in range(5)]
    blob = encode(pairs, watermark=NOW, built_at=NOW)
    header, offset = decode_header(blob)
    assert header.count == 5 and header.watermark == NOW and len(blob) == offset + 5 * (32 + 26)
    with pytest.raises(ValueError, match="truncated"):
        decode_header(blob[:-1])


def test_numpy_is_imported_by_the_matching_function_only() -> None:
    """Import cost is cold start: no other function's import graph may reach numpy."""
    from local.template import resources

    for logical_id, resource in resources("AWS::Serverless::Function").items():
        module = "functions." + str(resource["Properties"]["CodeUri"]).rstrip("/").split("/")[-1] + ".app"
        code = f"import sys; import {module}; print('numpy' in sys.modules)"
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}", "AWS_DEFAULT_REGION": "eu-west-1", "PATH": "/usr/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.strip() == str(logical_id == "MediaMatchingFunction"), logical_id
