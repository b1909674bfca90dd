"""Submissions per second of one statement submitter: pending statements in DynamoDB (moto, in process), drained by
the real submitter over real HTTP (http.client) to the fake Transparency Database of local/tdb.py on 127.0.0.1.

Both the fake database and moto run in this process, so the CPU time measured includes theirs: the rate is a floor
for one submitter, not the database's (200 requests/s per user, i.e. 20,000 statements/s in batches of 100).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
from moto import mock_aws

from consent_guard.config import SubmissionMode
from consent_guard.models.domain import Category, Enforcement, MediaType
from consent_guard.models.tdb import PendingStatement
from consent_guard.policy import load_policy
from consent_guard.policy.transparency import StatementConfig, StatementInput, build_statement
from consent_guard.repository.statements import StatementRepository, statement_put
from consent_guard.services.statements import StatementSubmitter
from consent_guard.transparency_db import TdbClient
from local import moto_adapt
from local.tdb import FakeTdbServer, FakeTransparencyDatabase
from local.template import create_resources

TOKEN = "bench-token"  # noqa: S105 - the fake database's token


@dataclass
class SubmitRun:
    statements: int
    wall_s: float
    cpu_s: float
    requests: int
    accepted: int

    @property
    def per_second(self) -> float:
        return self.statements / self.wall_s


@dataclass
class SubmitResult:
    runs: list[SubmitRun] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return statistics.median(r.per_second for r in self.runs)

    @property
    def spread(self) -> tuple[float, float]:
        rates = [r.per_second for r in self.runs]
        return min(rates), max(rates)


def _pending(n: int, offset: int) -> list[PendingStatement]:
    policy = load_policy()
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    categories = [c for c in Category if policy.index.categories[c].in_scope]
    out = []
    for i in range(n):
        category = categories[i % len(categories)]
        statement = build_statement(
            StatementInput(
                decision_id=f"c_bench{offset + i}-3",
                category=category,
                enforcement=Enforcement.REQUIRE_REMOVAL,
                rule_ids=("PIM-8", "PIM-E5"),
                issues_strike=True,
                automated=i % 2 == 0,
                trusted_flagger=False,
                own_detection=False,
                media_types=(MediaType.PHOTO,),
                content_created_at=now,
                decided_at=now,
            ),
            policy,
            StatementConfig(),
        )
        out.append(PendingStatement(case_id=f"c_bench{offset + i}", seq=3, statement=statement, created_at=now))
    return out


def submissions_per_second(statements: int = 1000, rounds: int = 3) -> SubmitResult:
    """`rounds` runs of one submitter draining `statements` pending statements each."""
    result = SubmitResult()
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    moto_adapt.apply()  # moto would otherwise copy whole tables per transaction and sort them per query
    with mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        resources = create_resources(session, prefix="bench-tdb")
        database = FakeTransparencyDatabase(TOKEN, max_requests_per_second=0)
        server = FakeTdbServer(database)
        server.start()
        try:
            table = resources.tables["ConsentGuardTable"]
            repository = StatementRepository(table, session.client("dynamodb"))
            client = TdbClient(server.url, lambda: TOKEN)
            submitter = StatementSubmitter(repository, client, SubmissionMode.SANDBOX)
            for round_ in range(rounds):
                pending = _pending(statements, round_ * statements)
                for start in range(0, len(pending), 100):
                    repository.client.transact_write_items(
                        TransactItems=[statement_put(table, p) for p in pending[start : start + 100]]  # type: ignore[misc]
                    )
                before = len(database.statements)
                wall, cpu = time.perf_counter(), time.process_time()
                summary = submitter.run(lambda: 600_000)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                result.runs.append(
                    SubmitRun(
                        statements=summary.submitted,
                        wall_s=wall,
                        cpu_s=cpu,
                        requests=summary.requests,
                        accepted=len(database.statements) - before,
                    )
                )
        finally:
            server.stop()
    return result
