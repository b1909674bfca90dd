"""The policy document: it validates, it is complete, the engine emits only its ids, and docs/policy.md matches it."""

from __future__ import annotations

import ast
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from consent_guard.models.domain import CaseFacts, Category, MediaFacts, Outcome, ReporterFacts
from consent_guard.policy import Policy, evaluate_case, load_policy
from consent_guard.policy.document import BANK_MATCH_TRIGGERS, POLICY_FILE
from consent_guard.policy.markdown import render_policy_markdown
from tests.unit.probe import probe
from tests.unit.test_policy_rules import (
    OTHER,
    OUT_OF_SCOPE,
    REPORTER_ID,
    REPRESENTATIVE,
    REPRESENTATIVE_UNATTESTED,
    SELF,
    SELF_UNATTESTED,
    case,
    post,
    strike,
)

ROOT = Path(__file__).resolve().parents[2]
POLICY_PACKAGE = ROOT / "shared" / "consent_guard" / "policy"


def test_the_document_validates_and_is_loaded_once() -> None:
    policy = Policy.model_validate_json(POLICY_FILE.read_bytes())
    assert policy == load_policy()
    assert load_policy() is load_policy()
    assert policy.version == json.loads(POLICY_FILE.read_text())["version"]


def test_provision_ids_are_unique() -> None:
    policy = load_policy()
    ids = [
        *(r.id for r in policy.rules),
        *(e.id for e in policy.exceptions),
        *(w.id for w in policy.weighing_factors),
        *(r.id for r in policy.enforcement_ladder),
        *(a.id for a in policy.automation),
    ]
    assert len(ids) == len(set(ids))
    assert set(ids) == policy.index.provision_ids


def test_every_category_is_described_once_and_scoped_as_the_policy_says() -> None:
    policy = load_policy()
    assert [c.id for c in policy.categories] == list(Category)
    assert {c.id for c in policy.categories if not c.in_scope} == set(OUT_OF_SCOPE)


def test_timings_and_tiers_are_the_agreed_ones() -> None:
    policy = load_policy()
    assert (policy.strike_expiry_days, policy.first_person_wait_days, policy.needs_context_limit_hours) == (365, 14, 72)
    assert (policy.appeal_window_days, policy.retention_days_after_appeal_window, policy.claim_minutes) == (183, 30, 30)
    assert (policy.reporter_quota.max_reports, policy.reporter_quota.window_seconds) == (50, 3600)
    tiers = [
        (t.when.categories, t.when.live_location_confirmed, t.when.trusted_flagger, t.when.live_location, t.priority)
        for t in policy.review_priorities
    ]
    # a reporter's live-location hint ranks below every platform-confirmed signal (and is bounded per reporter)
    assert tiers == [
        ((Category.INTIMATE_MEDIA,), None, None, None, 0),
        (None, True, None, None, 0),
        (None, None, True, None, 1),
        (None, None, None, True, 2),
        (None, None, None, None, 3),
    ]
    assert (policy.priority_hints.max_cases_per_reporter, policy.priority_hints.window_hours) == (3, 24)
    assert [t.sla_hours for t in policy.review_priorities if t.priority == 0] == [1, 1]
    assert policy.review_priorities[-1].sla_hours == 24


def _grid() -> list[CaseFacts]:
    """Cases crossing every fact the engine looks at, enough to reach each rule, exception and rung."""
    report_sets = [
        (OTHER,),
        (SELF,),
        (SELF_UNATTESTED,),
        (REPRESENTATIVE,),
        (REPRESENTATIVE_UNATTESTED,),
        (OTHER, SELF),
    ]
    posts = [
        None,
        post(),
        post(media=0),
        post(reshare=True),
        post(public_interest=True),
        post(public_interest=True, harassment=True),
        post(crisis=True),
        post(public_event=True, harassment=True, public_interest=True),
    ]
    media = [(), (MediaFacts(media_id="media-0", publicly_available=True),)]
    strikes = [(), (strike(days_ago=10),), (strike(days_ago=400),)]
    standings = [
        (),  # self-declared
        (ReporterFacts(reporter_id=REPORTER_ID, upheld=5),),  # a good track record
        (ReporterFacts(reporter_id=REPORTER_ID, unfounded_recent=1),),  # recently unfounded
    ]
    return [
        case(category, *reports, post_facts=p, public_figure=pf, dedicated=d, media_facts=m, strikes=s)
        for category, reports, p, pf, d, m, s in itertools.product(
            Category, report_sets, posts, (False, True), (False, True), media, strikes
        )
    ] + [
        case(category, *reports, post_facts=p, strikes=s, verified=False, reporters=r)
        for category, reports, p, s, r in itertools.product(Category, report_sets, posts[:2], strikes[:2], standings)
    ]


def test_the_engine_emits_only_ids_of_the_document_and_reaches_every_one() -> None:
    policy = load_policy()
    emitted: set[str] = set()
    considered: set[str] = set()
    outcomes: set[Outcome] = set()
    for facts in _grid():
        decision = evaluate_case(facts)
        emitted |= set(decision.rule_ids)
        considered |= {c.exception_id for c in decision.exceptions_considered}
        outcomes.add(decision.outcome)
    assert emitted <= policy.index.provision_ids
    exception_ids = {e.id for e in policy.exceptions}
    ladder_ids = {r.id for r in policy.enforcement_ladder}
    # the bank-match rules are reached by decide_match (tests/unit/test_hash_matching.py), never by a report
    report_rules = {r.id for r in policy.rules if r.trigger not in BANK_MATCH_TRIGGERS}
    assert emitted == report_rules | exception_ids | ladder_ids | {a.id for a in policy.automation}
    assert considered == exception_ids | {w.id for w in policy.weighing_factors}
    assert outcomes == set(Outcome)


def test_docs_policy_md_is_the_rendered_document() -> None:
    rendered = render_policy_markdown(load_policy())
    assert (ROOT / "docs" / "policy.md").read_text(encoding="utf-8") == rendered, (
        "docs/policy.md is stale: PYTHONPATH=shared .venv/bin/python -m consent_guard.policy.markdown > docs/policy.md"
    )


def test_the_markdown_shows_the_version_and_every_provision() -> None:
    policy = load_policy()
    rendered = render_policy_markdown(policy)
    assert f"Version `{policy.version}`" in rendered
    for provision_id in policy.index.provision_ids:
        assert f"| {provision_id} |" in rendered
    for category in Category:
        assert f"`{category.value}`" in rendered


def test_the_markdown_module_prints_the_document() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}
    result = subprocess.run(
        [sys.executable, "-m", "consent_guard.policy.markdown"], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout == render_policy_markdown(load_policy())


def test_the_policy_package_loads_neither_boto3_nor_botocore() -> None:
    code = (
        "import json, sys, consent_guard.policy as p; p.load_policy(); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'yaml'})))"
    )
    assert probe(code) == []


PURE_IMPORTS = {"__future__", "collections", "datetime", "enum", "functools", "string", "typing", "pydantic"}


@pytest.mark.parametrize("module", ["engine.py", "document.py"])
def test_the_engine_imports_nothing_that_does_io_or_reads_the_clock(module: str) -> None:
    tree = ast.parse((POLICY_PACKAGE / module).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    # document.py reads its own JSON file through pathlib, once, in load_policy
    allowed = PURE_IMPORTS | ({"pathlib"} if module == "document.py" else set())
    assert {name for name in imported if not name.startswith("consent_guard.")} <= {
        f"{top}{rest}" for top in allowed for rest in ("", ".abc")
    }


def _edit(change: Callable[[dict[str, Any]], object]) -> bytes:
    document = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    change(document)
    return json.dumps(document).encode()


def _rule(document: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in document["rules"] if r["id"] == rule_id)


BROKEN = [
    pytest.param(lambda d: d.update(surprise=True), "Extra inputs", id="unknown-field"),
    pytest.param(lambda d: d.update(strike_expiry_days="365"), "valid integer", id="strict-types"),
    pytest.param(lambda d: d.update(version="v1"), "pattern", id="version-format"),
    pytest.param(
        lambda d: d.update(appeal_window_days=90), "greater than or equal to 183", id="appeal-window-below-dsa"
    ),
    pytest.param(lambda d: d["categories"].pop(), "categories missing", id="category-missing"),
    pytest.param(lambda d: _rule(d, "PIM-13").update(id="PIM-12"), "duplicate provision ids", id="duplicate-id"),
    pytest.param(lambda d: d["rules"].pop(12), "no rule for", id="rule-missing"),
    pytest.param(
        lambda d: _rule(d, "PIM-4")["categories"].append("intimate_media"), "never apply", id="unreachable-rule"
    ),
    pytest.param(
        lambda d: _rule(d, "PIM-3").update(categories=["private_media", "extortion"]), "already", id="overlap"
    ),
    pytest.param(lambda d: _rule(d, "PIM-6").update(outcome="remove"), "no outcome", id="override-with-outcome"),
    pytest.param(lambda d: _rule(d, "PIM-2").update(outcome="remove"), "cannot remove", id="remove-without-post"),
    pytest.param(
        lambda d: _rule(d, "PIM-8").update(explanation="{oops} days"), "placeholders", id="unknown-placeholder"
    ),
    pytest.param(lambda d: d["enforcement_ladder"].pop(), "last enforcement rung", id="ladder-without-catch-all"),
    pytest.param(lambda d: d["review_priorities"].pop(), "last review tier", id="review-without-catch-all"),
    pytest.param(lambda d: d["notices"]["outcomes"].pop(), "outcomes without a notice", id="outcome-notice-missing"),
    pytest.param(
        lambda d: d["categories"][2].update(exceptions_apply=True), "media only", id="exceptions-for-information"
    ),
]


@pytest.mark.parametrize(("change", "message"), BROKEN)
def test_a_broken_document_is_rejected_at_load(change: Callable[[dict[str, Any]], object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Policy.model_validate_json(_edit(change))
