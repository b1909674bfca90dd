"""Run every scorecard check, print one line per check and a total, write scorecard.json; exit 1 unless all pass.

PYTHONPATH=shared python -m tests.scorecard [--only 1,3] [--output scorecard.json] [--fuzz-seed random]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from local.template import ROOT
from tests.scorecard.core import CheckResult, PytestCheck, run_pytest

H = "tests/handlers"
S = "tests/scorecard"

PYTEST_CHECKS = [
    PytestCheck(
        3,
        "tampered-retry",
        (
            f"{H}/test_report_intake.py::test_an_idempotency_key_reused_with_another_body_is_409_and_changes_nothing",
            f"{S}/test_tampered_retry.py",
        ),
        "same Idempotency-Key, changed body -> 409, nothing stored, queued or counted",
    ),
    PytestCheck(
        4,
        "racing-moderators",
        (
            f"{H}/test_cases.py::test_racing_moderators_interleaved_between_read_and_write_exactly_one_wins",
            f"{H}/test_cases.py::test_a_stale_version_is_a_409_with_the_winners_decision",
            f"{S}/test_racing_moderators.py",
        ),
        "one decision wins, every other gets 409 with the winner's state",
    ),
    PytestCheck(
        5,
        "bola-bfla-mass-assign",
        (
            f"{H}/test_report_intake.py::test_another_users_report_is_404_exactly_like_a_missing_one",
            f"{H}/test_report_intake.py::test_the_reporter_is_the_token_subject_and_a_body_cannot_set_it",
            f"{H}/test_report_intake.py::test_mass_assignment_of_status_or_version_is_rejected",
            f"{H}/test_cases.py::test_people_without_the_role_cannot_decide",
            f"{H}/test_cases.py::test_only_moderators_see_the_review_queue_and_only_appeal_reviewers_the_appeals_queue",
            f"{H}/test_cases.py::test_decision_bodies_reject_mass_assignment",
            f"{S}/test_access.py",
        ),
        "others' objects 404, missing role 403, status/reporter_id/version in bodies 422",
    ),
    PytestCheck(
        6,
        "reporter-quota-dsa23",
        (
            f"{H}/test_reporter_limits.py",
            f"{S}/test_reporter_limits.py",
        ),
        "quota 429 + Retry-After; warned, then suspended for a period, with events and notifications",
    ),
    PytestCheck(
        7,
        "partial-batch-failure",
        (
            f"{H}/test_pipeline.py::test_a_poison_message_fails_alone_and_the_rest_of_the_batch_is_processed",
            f"{H}/test_notifications.py::test_one_bad_message_does_not_hold_back_or_repeat_the_other_nine",
            f"{S}/test_partial_batch.py",
        ),
        "only the poison message fails, reaches the DLQ after maxReceiveCount, the rest processed once",
    ),
    PytestCheck(
        8,
        "throttling-and-faults",
        (
            f"{H}/test_pipeline.py::test_an_evaluation_that_keeps_failing_lands_in_the_dlq",
            f"{H}/test_notifications.py::test_a_failing_email_is_retried_then_dead_lettered_and_the_case_shows_it",
            f"{S}/test_faults.py",
        ),
        "botocore standard retries ride out throttling; persistent faults are 503/retried then DLQ, nothing partial",
    ),
    PytestCheck(
        9,
        "no-pii-in-logs",
        (
            f"{H}/test_notifications.py::test_no_private_information_in_any_notification_email_or_log",
            f"{H}/test_report_intake.py::test_validation_errors_never_echo_the_rejected_input",
            f"{S}/test_no_pii.py",
        ),
        "seeded phone, address and email never in logs, errors, notifications or emails",
    ),
    PytestCheck(
        11,
        "every-route-authorised",
        (f"{S}/test_routes_authorised.py",),
        "template == app routes, JWT authorizer (+ platform scope) on each, and a role check in code",
    ),
    PytestCheck(
        12,
        "retention",
        (f"{H}/test_report_intake.py::test_idempotency_records_hold_no_request_data", f"{S}/test_retention.py"),
        "past the retention period personal fields are erased; markers hold only hashes and ids",
    ),
    PytestCheck(
        13,
        "self-declared-claims",
        (f"{S}/test_self_declared_claims.py",),
        "self-declared claims hide at most the post, no automated suspension, bounded priority hints",
    ),
    PytestCheck(
        14,
        "conflicts-of-interest",
        (f"{S}/test_conflicts_of_interest.py",),
        "no role claims, decides or hears a case about its own post, report or decision; refusals block no one",
    ),
    PytestCheck(
        15,
        "need-to-know-no-oracle",
        (f"{S}/test_need_to_know.py",),
        "author 404 before a decision and never sees handlers; reporters never see sanctions; existing == missing",
    ),
    PytestCheck(
        16,
        "cursors-and-numbers",
        (f"{S}/test_hostile_inputs.py",),
        "tampered/replayed cursors 400; duplicate keys, huge or non-finite numbers 422; exact group claims",
    ),
]
ALL_CHECKS = 16


def _fuzz(args: argparse.Namespace) -> list[CheckResult]:
    from tests.scorecard import fuzz

    fuzz_seed = None if args.fuzz_seed == "random" else int(args.fuzz_seed)
    return [fuzz.run_check(fuzz_seed=fuzz_seed)]


def _duplicates(args: argparse.Namespace) -> list[CheckResult]:
    from tests.scorecard import duplicates

    return [duplicates.run_check()]


def _pytest_and_template(numbers: set[int]) -> Callable[[argparse.Namespace], list[CheckResult]]:
    """One pytest session for the pytest-backed checks; with check 10, every handler and scorecard test runs in it
    with the AWS-call recorder, and the template check compares the functions' roles with what was recorded."""

    def run(args: argparse.Namespace) -> list[CheckResult]:
        checks = [c for c in PYTEST_CHECKS if c.number in numbers]
        calls_dir = Path(tempfile.mkdtemp(prefix="scorecard-calls-")) if 10 in numbers else None
        also = (H, S) if calls_dir else ()
        results = run_pytest(checks, args.workers, also=also, calls_dir=calls_dir) if checks or also else []
        if calls_dir is not None:
            from tests.scorecard import template_security

            results.append(template_security.run_check(calls_dir))
        return results

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.scorecard", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help=f"comma-separated check numbers (default: all {ALL_CHECKS})")
    parser.add_argument("--output", type=Path, default=ROOT / "scorecard.json")
    parser.add_argument("--fuzz-seed", default="20261125", help="hypothesis seed of the fuzzing, or 'random'")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers for the pytest-backed checks")
    parser.add_argument("--verbose", "-v", action="store_true", help="print the details of passing checks too")
    args = parser.parse_args(argv)
    wanted = {int(n) for n in args.only.split(",") if n.strip()} or set(range(1, ALL_CHECKS + 1))

    pytest_numbers = ({c.number for c in PYTEST_CHECKS} | {10}) & wanted
    groups: list[tuple[set[int], Callable[[argparse.Namespace], list[CheckResult]]]] = [
        (pytest_numbers, _pytest_and_template(pytest_numbers)),
        ({1}, _fuzz),
        ({2}, _duplicates),
    ]
    results: list[CheckResult] = []
    started_all = time.monotonic()
    for numbers, runner in groups:
        if not numbers & wanted:
            continue
        started = time.monotonic()
        try:
            produced = runner(args)
        except Exception as exc:  # a check that crashes is a failed check, with its error
            produced = [CheckResult(n, "error", False, f"crashed: {type(exc).__name__}: {exc}") for n in numbers]
        for result in produced:
            result.seconds = round(time.monotonic() - started, 1)
            results.append(result)
    results.sort(key=lambda r: r.number)

    for result in results:
        if not result.passed or args.verbose:
            for detail in result.details:
                print(f"--- check {result.number} {result.name}: {detail}", file=sys.stderr)
    for result in results:
        print(result.line())
    passed = sum(r.passed for r in results)
    total_line = f"TOTAL {passed}/{len(results)}  ({time.monotonic() - started_all:.0f} s)"
    print(total_line)
    args.output.write_text(
        json.dumps(
            {
                "passed": passed,
                "total": len(results),
                "checks": [r.as_json() for r in results],
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
