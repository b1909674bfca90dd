"""Each function's import graph, as Lambda's Init phase builds it: what a function imports is its cold start
(docs/benchmarks.md), so a module it must not load fails here, in `make test`, not months later in `make bench`.

Every function of template.yaml is imported in a fresh interpreter (`-I -S`: no site customisation; sys.path is
the function's folder, shared/ - the layer - and this venv's site-packages, as /var/task and /opt/python), and
its sys.modules is checked against the rules below. The ratio itself is measured in `make bench`.
"""

from __future__ import annotations

from functools import cache

import pytest

from local.template import load_template
from tests.unit.probe import ROOT, function_probe

HTTP = {"report_intake", "case_api", "media_matching"}
FUNCTIONS = {
    "report_intake",
    "case_api",
    "media_matching",
    "bank_index",
    "policy_evaluation",
    "notification",
    "scheduled_review",
    "effects",
    "statement_submitter",
}
# consent_guard.config.<module> -> the one function whose settings it holds
SETTINGS = {
    "intake": "report_intake",
    "matching": "media_matching",
    "indexer": "bank_index",
    "evaluation": "policy_evaluation",
    "effects": "effects",
    "notification": "notification",
    "case_api": "case_api",
    "review": "scheduled_review",
}
# module (or package) -> the only functions that may load it
ONLY_IN: dict[str, set[str]] = {
    # template rendering: only the function that renders emails
    "jinja2": {"notification"},
    "markupsafe": {"notification"},
    # the routes and their router (consent_guard.http.router, on pydantic): only the HTTP functions; each loads the
    # request and response bodies of its own routes only
    "consent_guard.http": HTTP,
    "consent_guard.models.api": HTTP,
    "consent_guard.models.api.reports": {"report_intake"},
    "consent_guard.models.api.cases": {"case_api"},
    "consent_guard.models.api.media": {"case_api", "media_matching"},
    # a statement of reasons' vocabulary: not in the functions that never make or send one
    "consent_guard.models.tdb": {
        "report_intake",
        "case_api",
        "media_matching",
        "policy_evaluation",
        "effects",
        "scheduled_review",
        "statement_submitter",
    },
    # the statistics report (its 13 response models, the CSV, the admin check): only the case API serves it; the
    # functions that change cases count with services.stats_effects
    "consent_guard.models.stats": {"case_api"},
    "consent_guard.services.stats": {"case_api"},
    # each function's settings model, and no other function's (consent_guard.config loads them on first access)
    **{f"consent_guard.config.{module}": {folder} for module, folder in SETTINGS.items()},
    # the submitter's settings (SubmissionMode) come with services.statements, where statements are made or sent
    "consent_guard.config.submitter": {
        "case_api",
        "media_matching",
        "policy_evaluation",
        "scheduled_review",
        "statement_submitter",
    },
    # the policy document's ~26 models and the engine: not in the functions that never decide (the notification
    # function reads only the retention figures, policy/retention.py; the bank indexer nothing of the policy)
    "consent_guard.policy.document": FUNCTIONS - {"notification", "bank_index"},
    "consent_guard.policy.engine": FUNCTIONS - {"notification", "bank_index", "statement_submitter"},
    # deciding: the evaluation service, statements of reasons and their submission, the hash bank's changes - not in
    # the re-review (it moves timers with services.timers), nor in the functions that only deliver
    "consent_guard.services.evaluation": {"policy_evaluation"},
    "consent_guard.services.banking": {"policy_evaluation", "case_api"},
    "consent_guard.services.statements": {"policy_evaluation", "case_api", "media_matching", "statement_submitter"},
    "consent_guard.transparency_db": {"policy_evaluation", "case_api", "media_matching", "statement_submitter"},
    # image hashing: only the media matcher
    "numpy": {"media_matching"},
    "PIL": {"media_matching"},
    "pdqhash": {"media_matching"},
    # the consumers' batch plumbing and the scheduled jobs stay out of the HTTP functions and vice versa
    "consent_guard.consumers": {
        "policy_evaluation",
        "notification",
        "effects",
        "scheduled_review",
        "statement_submitter",
        "media_matching",
        "bank_index",
    },
}
# never in any function: boto3 (and its resource layer and s3transfer: we use botocore clients), test tooling;
# powertools (logs and EMF metrics are consent_guard.observability's, routing and validation consent_guard.http's;
# its event handler package imports asyncio and every event class); the OpenAPI generator (local and tests only)
NOWHERE = {
    "boto3",
    "s3transfer",
    "moto",
    "pytest",
    "mypy_boto3_dynamodb",
    "mypy_boto3_sqs",
    "aws_lambda_powertools",
    "asyncio",
    "consent_guard.http.openapi",
}


def functions() -> dict[str, str]:
    found = {}
    for logical_id, resource in load_template()["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            found[logical_id] = str(resource["Properties"]["CodeUri"]).rstrip("/").split("/")[-1]
    return found


@cache
def loaded(folder: str) -> frozenset[str]:
    return frozenset(function_probe(folder, "import json\nimport app\nprint(json.dumps(sorted(sys.modules)))"))


def _hits(modules: frozenset[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


def test_every_function_has_a_folder() -> None:
    assert set(functions().values()) <= {p.name for p in (ROOT / "functions").iterdir() if p.is_dir()}


@pytest.mark.parametrize("folder", sorted(set(functions().values())))
def test_import_graph(folder: str) -> None:
    modules = loaded(folder)
    assert "consent_guard" in modules, "the probe did not import the product"
    problems = []
    for package, allowed in ONLY_IN.items():
        if folder not in allowed and _hits(modules, package):
            problems.append(f"{package} (only {sorted(allowed)} may load it): {_hits(modules, package)[:3]}")
    for package in NOWHERE:
        if _hits(modules, package):
            problems.append(f"{package} (no function may load it): {_hits(modules, package)[:3]}")
    assert not problems, f"{folder} imports what it must not:\n  " + "\n  ".join(problems)


def test_the_rules_name_every_function() -> None:
    assert set(functions().values()) == FUNCTIONS


def test_the_guard_can_fail() -> None:
    """The rules see what they are about: the notification function really loads jinja2, the HTTP ones the router
    and their own bodies, the case API the statistics report, each function its own settings module, and a probe of
    a function that imported boto3 would be caught."""
    assert _hits(loaded("notification"), "jinja2")
    assert _hits(loaded("report_intake"), "consent_guard.http.router")
    assert _hits(loaded("report_intake"), "consent_guard.models.api.reports")
    assert _hits(loaded("case_api"), "consent_guard.models.api.cases")
    assert _hits(loaded("case_api"), "consent_guard.models.stats")
    assert _hits(loaded("policy_evaluation"), "consent_guard.policy.document")
    for module, folder in SETTINGS.items():  # each function does load its own settings, through consent_guard.config
        assert f"consent_guard.config.{module}" in loaded(folder), folder
    assert _hits(frozenset({"boto3", "boto3.session"}), "boto3") == ["boto3", "boto3.session"]
    assert not _hits(frozenset({"boto3x"}), "boto3")


# modules whose pydantic models a function creates at cold start: real annotations, not strings (pydantic eval()s
# string annotations when a class is created)
REAL_ANNOTATIONS = [
    "models/domain.py",
    "models/stats.py",
    "models/api/base.py",
    "models/api/signals.py",
    "models/api/reports.py",
    "models/api/cases.py",
    "models/api/media.py",
    "models/tdb.py",
    "models/messages.py",
    "models/effects.py",
    "policy/document.py",
    "policy/transparency.py",
]


@pytest.mark.parametrize("module", REAL_ANNOTATIONS)
def test_model_modules_do_not_postpone_annotations(module: str) -> None:
    lines = (ROOT / "shared" / "consent_guard" / module).read_text().splitlines()
    assert "from __future__ import annotations" not in lines
