"""Check 2: the same report sent again and again, in sequence and at once, is one report in one case.

Over real HTTP against the local stack: 50 times in sequence, then (another report) 50 times concurrently from 50
threads, each time with the same body and Idempotency-Key. The local stack runs one invocation of a function at a
time, as one Lambda instance does; so that the intake code also races itself truly in parallel (as separate Lambda
instances do), a third report is submitted by 50 threads calling the intake service directly against the same moto
server, whose requests are atomic as DynamoDB's are. Every answer must be the same 202 body (or 409 while the first
is in progress), never a 5xx; the table must hold one report, one dedupe marker and one idempotency marker per
report, and the evaluated case exactly that one report.
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from local.client import wait_until
from local.jwt_local import PLATFORM_SCOPE, mint_token
from tests.scorecard.core import CheckResult
from tests.scorecard.localstack import RunningStack, local_stack, server_errors

TIMES = 50
REPORTER = "dup-reporter"


def _body(post_id: str) -> dict[str, Any]:
    return {
        "post_id": post_id,
        "category": "private_media",
        "relationship": "self",
        "description": "a photo of me, posted without asking",
        "attestations": {"accurate_and_complete": True, "information_is_mine": True, "not_published_elsewhere": True},
    }


class Tally:
    def __init__(self) -> None:
        self.statuses: collections.Counter[int] = collections.Counter()
        self.bodies: set[str] = set()
        self.problems: list[str] = []
        self.lock = threading.Lock()

    def add(self, label: str, status: int, body: str) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status == 202:
                payload = json.loads(body)
                self.bodies.add(json.dumps(payload, sort_keys=True))
            elif status != 409:
                self.problems.append(f"{label}: {status} {body[:300]}")


def _send(http: httpx.Client, post_id: str, key: str) -> tuple[int, str]:
    response = http.post("/reports", json=_body(post_id), headers={"idempotency-key": key})
    return response.status_code, response.text


def _over_http(stack: RunningStack, post_id: str, concurrent: bool, tally: Tally) -> None:
    headers = {"authorization": f"Bearer {mint_token(REPORTER)}"}
    key = f"retry-{post_id}"
    if not concurrent:
        with httpx.Client(base_url=stack.url, headers=headers, timeout=60) as http:
            for _ in range(TIMES):
                tally.add(f"sequential {post_id}", *_send(http, post_id, key))
        return
    barrier = threading.Barrier(TIMES)

    def one(_: int) -> tuple[int, str]:
        with httpx.Client(base_url=stack.url, headers=headers, timeout=60) as http:
            barrier.wait(timeout=30)
            return _send(http, post_id, key)

    with ThreadPoolExecutor(max_workers=TIMES) as pool:
        for status, text in pool.map(one, range(TIMES)):
            tally.add(f"concurrent {post_id}", status, text)


def _parallel_invocations(stack: RunningStack, post_id: str, tally: Tally) -> None:
    """50 intake services, each with its own DynamoDB and SQS clients, submitting at the same moment."""
    from consent_guard.auth import Principal
    from consent_guard.errors import DomainError
    from consent_guard.messaging import QueuePublisher
    from consent_guard.models.api import SubmitReportRequest
    from consent_guard.repository import SDK_CONFIG, CaseRepository
    from consent_guard.services.intake import IntakeService

    sqs = stack.aws("sqs")
    queue_url = sqs.get_queue_url(QueueName="cg-EvaluationQueue")["QueueUrl"]
    effects_url = sqs.get_queue_url(QueueName="cg-EffectsQueue")["QueueUrl"]
    services = [
        IntakeService(
            CaseRepository("cg-ConsentGuardTable", client=stack.aws("dynamodb", SDK_CONFIG)),
            QueuePublisher(queue_url, client=stack.aws("sqs", SDK_CONFIG)),
            QueuePublisher(effects_url, client=stack.aws("sqs", SDK_CONFIG)),
        )
        for _ in range(TIMES)
    ]
    principal = Principal(subject=REPORTER, groups=frozenset(), scopes=frozenset())
    request = SubmitReportRequest.model_validate(_body(post_id))
    barrier = threading.Barrier(TIMES)

    def one(service: IntakeService) -> tuple[int, str]:
        barrier.wait(timeout=30)
        try:
            submission = service.submit_report(principal, request, f"retry-{post_id}")
        except DomainError as exc:
            return 409 if exc.code == "conflict" else 500, f"{type(exc).__name__}: {exc.code}"
        except Exception as exc:  # any other error is a server error in a handler
            return 500, type(exc).__name__
        return 202, submission.accepted.model_dump_json()

    from consent_guard.observability import logger

    level = logger._logger.level
    logger.setLevel("WARNING")  # the services log here, in the scorecard's own output; the stack logs to its file
    try:
        with ThreadPoolExecutor(max_workers=TIMES) as pool:
            for status, text in pool.map(one, services):
                tally.add(f"parallel {post_id}", status, text)
    finally:
        logger.setLevel(level)


def _stored(stack: RunningStack, post_id: str, moderator: httpx.Client) -> tuple[int, int, str]:
    """(report items for the post, case items for the post, problems) once the report has been evaluated."""
    reports = [i for i in stack.items("report") if i.get("post_id", {}).get("S") == post_id]
    cases = [i for i in stack.items("case") if i.get("post_id", {}).get("S") == post_id]
    problems = ""
    if len(reports) == 1 and len(cases) <= 1:
        case_id = reports[0]["case_id"]["S"]

        def evaluated() -> Any:
            response = moderator.get(f"/cases/{case_id}")
            return response.json() if response.status_code == 200 else None

        view = wait_until(evaluated, timeout=30, message=f"case of {post_id} not evaluated")
        cases = [i for i in stack.items("case") if i.get("post_id", {}).get("S") == post_id]
        if len(view.get("reports") or []) != 1:
            problems = f"case {case_id} holds {len(view.get('reports') or [])} reports"
    return len(reports), len(cases), problems


def _markers(stack: RunningStack, tally: Tally) -> list[dict[str, Any]]:
    """The dedupe and idempotency markers that answer with this report."""
    if len(tally.bodies) != 1:
        return []
    report_id = json.loads(next(iter(tally.bodies)))["report_id"]
    return [
        i
        for i in stack.items()
        if i.get("type", {}).get("S") in ("dedupe", "idempotency") and report_id in i.get("response", {}).get("S", "")
    ]


def run_check() -> CheckResult:
    details: list[str] = []
    counts: list[str] = []
    tallies: dict[str, Tally] = {}
    with local_stack() as stack:
        offset = stack.log_size()
        platform = {"authorization": f"Bearer {mint_token('dup-platform', scopes=[PLATFORM_SCOPE])}"}
        moderator = httpx.Client(
            base_url=stack.url,
            headers={"authorization": f"Bearer {mint_token('dup-mod', groups=['moderators'])}"},
            timeout=30,
        )
        runs: dict[str, Callable[[str, Tally], None]] = {
            "sequential": lambda post, tally: _over_http(stack, post, False, tally),
            "concurrent": lambda post, tally: _over_http(stack, post, True, tally),
            "parallel": lambda post, tally: _parallel_invocations(stack, post, tally),
        }
        with moderator:
            for name, run in runs.items():
                post_id = f"dup-{name}"
                response = httpx.put(
                    f"{stack.url}/context/posts/{post_id}",
                    json={"author_id": "dup-author", "created_at": "2026-11-20T10:00:00Z"},
                    headers=platform,
                    timeout=30,
                )
                assert response.status_code == 200, response.text
                tally = tallies[name] = Tally()
                run(post_id, tally)
                reports, cases, problem = _stored(stack, post_id, moderator)
                markers = _markers(stack, tally)
                counts.append(f"{name}: {reports} report/{cases} case")
                if reports != 1 or cases != 1:
                    details.append(f"{name}: {reports} reports and {cases} cases stored for {post_id}")
                if len(markers) != 2:
                    details.append(f"{name}: {len(markers)} dedupe/idempotency markers for the report (expected 2)")
                if problem:
                    details.append(f"{name}: {problem}")
                if len(tally.bodies) != 1:
                    details.append(f"{name}: {len(tally.bodies)} different 202 bodies: {sorted(tally.bodies)[:3]}")
                if sum(tally.statuses.values()) != TIMES:
                    details.append(f"{name}: {sum(tally.statuses.values())} answers for {TIMES} sends")
                details += tally.problems[:5]
        details += [f"stack log:\n{t}" for t in server_errors(stack.log_text(offset))[:5]]
    statuses: collections.Counter[int] = collections.Counter()
    for tally in tallies.values():
        statuses.update(tally.statuses)
    five_xx = sum(n for s, n in statuses.items() if s >= 500)
    figure = (
        f"{sum(statuses.values())} sends (50 sequential + 50 concurrent over HTTP + 50 parallel invocations): "
        f"{statuses[202]}x 202 (one body per report), {statuses[409]}x 409, {five_xx}x 5xx; " + ", ".join(counts)
    )
    return CheckResult(2, "duplicate-reports", not details and five_xx == 0, figure, details)
