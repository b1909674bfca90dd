"""Check 4 (threads): moderators racing for the same case in truly parallel threads, each with its own clients,
against a moto server that applies each request atomically (as DynamoDB applies each write). Exactly one decision
(or claim) wins; every other gets the 409 of a version conflict, and the case records one decision.

The deterministic interleaving (one moderator paused between read and write while the other commits) is the test
in tests/handlers/test_cases.py, run by the same check.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests

from local.template import LocalResources, create_resources

MODERATORS = 8
ROUNDS = 4


@dataclass
class Served:
    resources: LocalResources
    endpoint: str

    def client(self, service: str) -> Any:
        from consent_guard.repository import SDK_CONFIG

        return boto3.client(service, endpoint_url=self.endpoint, region_name="eu-west-1", config=SDK_CONFIG)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    from local.stack import LocalMotoServer

    server = LocalMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    # the server shares moto's in-process backends with mock_aws: start from, and leave, a clean state
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    try:
        session = boto3.Session(region_name="eu-west-1")
        yield Served(create_resources(session), endpoint)
    finally:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        server.stop()


def _services(served: Served) -> tuple[Any, Any, Any]:
    from consent_guard.messaging import QueuePublisher
    from consent_guard.repository import CaseRepository
    from consent_guard.services.cases import CaseService
    from consent_guard.services.evaluation import EvaluationService
    from consent_guard.services.intake import IntakeService

    table = served.resources.tables["ConsentGuardTable"]

    def parts() -> tuple[Any, Any]:
        return (
            CaseRepository(table, client=served.client("dynamodb")),
            QueuePublisher(served.resources.queues["EffectsQueue"], client=served.client("sqs")),
        )

    repository, effects_queue = parts()
    intake = IntakeService(
        repository,
        QueuePublisher(served.resources.queues["EvaluationQueue"], client=served.client("sqs")),
        effects_queue,
    )
    evaluation = EvaluationService(repository, effects_queue)
    return intake, evaluation, lambda: CaseService(*parts())


def _case_in_review(served: Served, intake: Any, evaluation: Any, n: int) -> tuple[str, int]:
    from consent_guard.auth import PLATFORM_SCOPE, Principal
    from consent_guard.models.api import PostContextRequest, SubmitReportRequest
    from consent_guard.models.messages import ReportSubmitted

    platform = Principal(subject="platform", groups=frozenset(), scopes=frozenset({PLATFORM_SCOPE}))
    post_id = f"race-post-{n}"
    intake.put_post_context(
        platform,
        post_id,
        PostContextRequest.model_validate({"author_id": f"race-author-{n}", "created_at": "2026-11-20T10:00:00Z"}),
    )
    reporter = Principal(subject=f"race-reporter-{n}", groups=frozenset(), scopes=frozenset())
    accepted = intake.submit_report(
        reporter,
        SubmitReportRequest.model_validate(
            {
                "post_id": post_id,
                "category": "contact_information",
                "relationship": "other",
                "attestations": {"accurate_and_complete": True},
            }
        ),
    ).accepted
    evaluation.handle(ReportSubmitted(report_id=accepted.report_id))
    case = evaluation.repository.get_case(accepted.case_id)
    assert case.state == "in_review", case.state
    return case.case_id, case.version


def _race(calls: list[Any]) -> list[tuple[int, Any]]:
    """Run the calls at the same moment; (status the HTTP layer maps the outcome to, result or error)."""
    from consent_guard.errors import Conflict

    barrier = threading.Barrier(len(calls))

    def one(call: Any) -> tuple[int, Any]:
        barrier.wait(timeout=30)
        try:
            return 200, call()
        except Conflict as exc:
            return 409, exc
        except Exception as exc:  # anything else would be a 5xx
            return 500, exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def test_moderators_deciding_at_once_one_wins_the_rest_get_409(served: Served, record_property: Any) -> None:
    from consent_guard.auth import Principal
    from consent_guard.models.api import DecisionRequest

    intake, evaluation, case_service = _services(served)
    rng = random.Random(7)
    winners = losers = 0
    for n in range(ROUNDS):
        case_id, version = _case_in_review(served, intake, evaluation, n)
        services = [case_service() for _ in range(MODERATORS)]
        outcomes = [rng.choice(["remove", "no_violation"]) for _ in range(MODERATORS)]
        calls = [
            (
                lambda s=s, i=i, o=o, c=case_id, v=version: s.decide(
                    Principal(subject=f"mod-{i}", groups=frozenset({"moderators"}), scopes=frozenset()),
                    c,
                    DecisionRequest(outcome=o, rule_id="PIM-12", version=v),
                )
            )
            for i, (s, o) in enumerate(zip(services, outcomes, strict=True))
        ]
        results = _race(calls)

        statuses = sorted(status for status, _ in results)
        assert statuses == [200] + [409] * (MODERATORS - 1), results
        winner = next(result for status, result in results if status == 200)
        for status, error in results:
            if status == 409:
                current = error.details.get("current")
                assert current is not None and current.version == winner.case.version  # the loser sees the winner
                assert current.decision.outcome == winner.decision.outcome
        case = evaluation.repository.get_case(case_id)
        assert case.version == winner.case.version and case.decided_by == winner.decision.decided_by
        assert [e.type for e in evaluation.repository.case_events(case_id)].count("decided") == 1
        winners += 1
        losers += MODERATORS - 1
    record_property("figure", f"{ROUNDS} races x {MODERATORS} threads: {winners} winners, {losers}x 409")


def test_moderators_claiming_at_once_one_gets_the_case(served: Served, record_property: Any) -> None:
    from consent_guard.auth import Principal

    intake, evaluation, case_service = _services(served)
    case_id, _ = _case_in_review(served, intake, evaluation, 99)
    services = [case_service() for _ in range(MODERATORS)]
    calls = [
        (
            lambda s=s, i=i: s.claim(
                Principal(subject=f"mod-{i}", groups=frozenset({"moderators"}), scopes=frozenset()), case_id
            )
        )
        for i, s in enumerate(services)
    ]
    results = _race(calls)
    assert sorted(status for status, _ in results) == [200] + [409] * (MODERATORS - 1), results
    winner = next(result for status, result in results if status == 200)
    assert evaluation.repository.get_case(case_id).claimed_by == winner.claimed_by
    record_property("figure", f"{MODERATORS} claims at once: 1 claim, {MODERATORS - 1}x 409")
