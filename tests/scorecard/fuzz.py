"""Check 1: schemathesis against the API's own OpenAPI document, over real HTTP against the local stack.

Every operation of `/openapi.json` is fuzzed with positive and negative data from schemathesis, each request carrying
one of a rotation of valid tokens (people, staff, the platform) and invalid ones (none, expired, forged, another
audience, not a JWT). Half of the requests use the ids of data seeded beforehand, so fuzzed bodies reach the code
behind the lookups. A response fails when it is a server error, its status is not documented for the operation, or
its content type, headers or body do not match the document. Then a >16 KB body to every operation with a body: 413.
"""

from __future__ import annotations

import collections
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.client import wait_until
from local.jwt_local import PLATFORM_SCOPE, mint_token
from tests.scorecard.core import CheckResult
from tests.scorecard.localstack import RunningStack, local_stack, server_errors

MIN_REQUESTS = 500
EXAMPLES_PER_MODE = 22  # x 2 modes x 14 operations: ~600 generated requests
DEFAULT_SEED = 20261125
MAX_BODY = 16 * 1024
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

REPORTER = "fz-reporter"
INVALID = frozenset({"no-token", "expired", "forged", "other-audience", "not-a-jwt"})


def _tokens() -> list[tuple[str, str | None]]:
    """(label, Authorization header value): valid identities first, then what the gateway must refuse."""
    valid = [
        ("reporter", mint_token(REPORTER)),
        ("user", mint_token("fz-user")),
        ("moderator", mint_token("fz-mod", groups=["moderators"])),
        ("appeals", mint_token("fz-appeals", groups=["appeals"])),
        ("admin", mint_token("fz-admin", groups=["admins"])),
        ("platform", mint_token("fz-platform", scopes=[PLATFORM_SCOPE])),
    ]
    good = mint_token("fz-user")
    invalid: list[tuple[str, str | None]] = [
        ("no-token", None),
        ("expired", mint_token("fz-user", ttl=-60)),
        ("forged", good[: good.rindex(".") + 1] + "x" * 43),
        ("other-audience", mint_token("fz-user", aud="someone-else")),
        ("not-a-jwt", "not.a.jwt"),
    ]
    return [(label, f"Bearer {token}" if token else None) for label, token in valid + invalid]


@dataclass
class Seeded:
    """Ids of real data, substituted for generated path parameters in half of the requests."""

    values: dict[str, str] = field(default_factory=dict)


def _seed(stack: RunningStack) -> Seeded:
    platform = {"authorization": f"Bearer {mint_token('fz-platform', scopes=[PLATFORM_SCOPE])}"}
    reporter = {"authorization": f"Bearer {mint_token(REPORTER)}"}
    moderator = {"authorization": f"Bearer {mint_token('fz-mod', groups=['moderators'])}"}
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        post = {
            "author_id": "fz-author",
            "text": "fuzzing seed",
            "media": [{"media_id": "fz-media-1", "media_type": "photo"}],
            "created_at": "2026-11-20T10:00:00Z",
        }
        assert http.put("/context/posts/fz-post", json=post, headers=platform).status_code == 200
        response = http.post(
            "/reports",
            json={
                "post_id": "fz-post",
                "category": "contact_information",
                "relationship": "other",
                "attestations": {"accurate_and_complete": True},
            },
            headers=reporter,
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        wait_until(
            lambda: http.get(f"/cases/{accepted['case_id']}", headers=moderator).status_code == 200,
            timeout=30,
            message="the seeded report was not evaluated",
        )
    return Seeded(
        {
            "report_id": accepted["report_id"],
            "case_id": accepted["case_id"],
            "post_id": "fz-post",
            "account_id": "fz-author",
            "media_id": "fz-media-1",
        }
    )


@dataclass
class FuzzStats:
    requests: int = 0
    by_operation: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    failure_kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    seen: set[tuple[str, int, str]] = field(default_factory=set)  # one example per (operation, status, failure)
    invalid_tokens: int = 0


def _fuzz_test(
    stack: RunningStack,
    seeded: Seeded,
    stats: FuzzStats,
    operation: Any,
    mode: GenerationMode,
    tokens: list[tuple[str, str | None]],
    rotation: itertools.count[int],
    session: requests.Session,
    examples: int,
) -> Any:
    """One hypothesis test: `examples` generated requests to one operation in one generation mode."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        turn = next(rotation)
        label, authorization = tokens[turn % len(tokens)]
        if turn % 2 == 0 and case.path_parameters:
            for name in list(case.path_parameters):
                if name in seeded.values:
                    case.path_parameters[name] = seeded.values[name]
        headers = {"Authorization": authorization} if authorization else {}
        if not authorization:
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        response = case.call(base_url=stack.url, session=session, headers=headers, timeout=30)
        stats.requests += 1
        stats.invalid_tokens += label in INVALID
        stats.by_operation[operation.label] += 1
        stats.statuses[response.status_code] += 1
        if response.status_code >= 500:
            stats.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseExceptionGroup as group:
            for failure in group.exceptions:
                kind = type(failure).__name__
                stats.failure_kinds[kind] += 1
                key = (operation.label, response.status_code, kind)
                if key not in stats.seen and len(stats.failures) < 60:
                    stats.seen.add(key)
                    stats.failures.append(
                        f"{operation.label} [{mode.value}, token={label}] -> {response.status_code} {kind}: "
                        f"{' '.join(str(failure).split())[:300]}\n    curl: {case.as_curl_command(headers)}"
                    )

    return run


def _fuzz(stack: RunningStack, seeded: Seeded, stats: FuzzStats, examples: int, fuzz_seed: int | None) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{stack.url}/openapi.json")
    tokens = _tokens()
    rotation = itertools.count()
    session = requests.Session()
    operations: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            test = _fuzz_test(stack, seeded, stats, operation, mode, tokens, rotation, session, examples)
            if fuzz_seed is not None:
                test = seed(fuzz_seed)(test)
            test()
    return operations


def _oversized(stack: RunningStack, schema: dict[str, Any], seeded: Seeded) -> tuple[int, list[str]]:
    """A body just over the limit to every operation that takes one, with a token its route accepts: 413."""
    tokens = {
        "platform": mint_token("fz-platform", scopes=[PLATFORM_SCOPE]),
        "person": mint_token("fz-admin", groups=["moderators", "appeals", "admins"]),
    }
    body = json.dumps({"description": "x" * (MAX_BODY + 1024)})
    sent, problems = 0, []
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                if "requestBody" not in operation:
                    continue
                scoped = any(s.get("bearerAuth") for s in operation.get("security", []))
                token = tokens["platform" if scoped else "person"]
                url = path
                for name, value in seeded.values.items():
                    url = url.replace("{" + name + "}", value)
                response = http.request(
                    method.upper(),
                    url,
                    content=body,
                    headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
                )
                sent += 1
                documented = "413" in operation.get("responses", {})
                if response.status_code != 413 or not documented:
                    problems.append(
                        f"{method.upper()} {path} with {len(body)} bytes -> {response.status_code}"
                        f"{'' if documented else ' (413 not documented)'}"
                    )
    return sent, problems


def run_check(examples: int = EXAMPLES_PER_MODE, fuzz_seed: int | None = DEFAULT_SEED) -> CheckResult:
    stats = FuzzStats()
    with local_stack() as stack:
        seeded = _seed(stack)
        offset = stack.log_size()
        operations = _fuzz(stack, seeded, stats, examples, fuzz_seed)
        schema = httpx.get(f"{stack.url}/openapi.json", timeout=30).json()
        oversized, oversized_problems = _oversized(stack, schema, seeded)
        tracebacks = server_errors(stack.log_text(offset))
    unexercised = sorted(set(operations) - set(stats.by_operation))
    four_xx = sorted(s for s in stats.statuses if 400 <= s < 500)
    details = [*stats.failures, *oversized_problems]
    if unexercised:
        details.append(f"operations never called: {unexercised}")
    if stats.requests < MIN_REQUESTS:
        details.append(f"only {stats.requests} generated requests (at least {MIN_REQUESTS})")
    details += [f"stack log:\n{t}" for t in tracebacks[:5]]
    passed = (
        stats.requests >= MIN_REQUESTS
        and not unexercised
        and not stats.failures
        and not oversized_problems
        and stats.server_errors == 0
        and not tracebacks
    )
    undocumented = stats.failure_kinds.get("UndefinedStatusCode", 0)
    figure = (
        f"{stats.requests} requests ({stats.invalid_tokens} with invalid tokens) over "
        f"{len(stats.by_operation)}/{len(operations)} operations, "
        f"{stats.server_errors} server errors, {undocumented} undocumented statuses, "
        f"{sum(stats.failure_kinds.values())} conformance failures (4xx seen: {','.join(map(str, four_xx))}); "
        f"{oversized - len(oversized_problems)}/{oversized} oversized bodies -> 413"
    )
    return CheckResult(1, "fuzzed-input", passed, figure, details)
