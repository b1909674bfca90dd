"""Check 9: a seeded phone number, address and email never appear in what the functions log (the JSON lines as
CloudWatch would get them, at DEBUG as well as INFO), in error bodies, notifications or emails; validation errors
never echo input; and no X-Ray tracer records responses."""

from __future__ import annotations

import ast
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.backends import get_backend

from local.template import ROOT, load_template
from tests.handlers.conftest import Stack

PHONE = "+44 7700 900461"
ADDRESS = "27 Cranbrook Road, Bristol BS6 7BS"
EMAIL = "rosa.private@example.net"
SECRETS = (PHONE, ADDRESS, EMAIL)


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every record of the functions' logger, formatted by its own (powertools JSON) formatter, at DEBUG."""
    from consent_guard.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    inner = logger._logger
    level = inner.level
    inner.addHandler(handler)
    inner.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        inner.removeHandler(handler)
        inner.setLevel(level)


def _seeded_pipeline(stack: Stack) -> list[tuple[int, dict[str, Any]]]:
    answers: list[tuple[int, dict[str, Any]]] = []
    stack.http(
        "report_intake/put_post_context.json",
        path_params={"post_id": "post-1001"},
        body={
            "author_id": "user-bob",
            "text": f"her number is {PHONE}, she lives at {ADDRESS}, write to {EMAIL}",
            "media": [{"media_id": "m1", "media_type": "photo"}],
            "created_at": "2026-11-20T10:00:00Z",
        },
    )
    stack.account_context("user-bob", contact_email="bob@example.com")
    stack.account_context("user-rosa", contact_email=EMAIL)
    for category in ("contact_information", "home_address_or_location", "private_media"):
        stack.report(sub="user-rosa", category=category, description=f"my number {PHONE}, I live at {ADDRESS}, {EMAIL}")
    stack.post_context("post-2002", author="user-bob")
    case_id = stack.report(
        sub="user-dave",
        post_id="post-2002",
        category="contact_information",
        relationship="other",
        description=f"{PHONE} / {ADDRESS}",
    )["case_id"]
    stack.run_pipeline()
    # a moderator decides with a note that repeats it; the author appeals quoting it
    _, view, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": case_id}, sub="mod-1", groups=["moderators"]
    )
    answers.append(
        stack.http(
            "case_api/decide_case.json",
            path_params={"case_id": case_id},
            body={"outcome": "remove", "rule_id": "PIM-12", "version": view["case"]["version"], "note": f"see {PHONE}"},
            sub="mod-1",
            groups=["moderators"],
        )[:2]
    )
    stack.run_pipeline()
    answers.append(
        stack.http(
            "case_api/appeal_case.json",
            path_params={"case_id": case_id},
            body={"reason": f"{ADDRESS} is a public office, call {PHONE}"},
            sub="user-bob",
        )[:2]
    )
    assert [status for status, _ in answers] == [200, 200], answers
    # invalid input carrying the secrets, on every route that takes a body: 422s that must not echo it
    for event_file, kwargs, body in (
        ("report_intake/submit_report.json", {"sub": "user-rosa"}, {"post_id": PHONE, "description": ADDRESS * 100}),
        (
            "report_intake/put_account_context.json",
            {"path_params": {"account_id": "user-x"}},
            {"contact_email": ADDRESS},
        ),
        ("report_intake/put_post_context.json", {"path_params": {"post_id": "p"}}, {"author_id": EMAIL, "text": 5}),
        ("report_intake/put_media_context.json", {"path_params": {"media_id": "m"}}, {"publicly_available": PHONE}),
        (
            "case_api/decide_case.json",
            {"path_params": {"case_id": case_id}, "sub": "mod-1", "groups": ["moderators"]},
            {"outcome": PHONE, "rule_id": EMAIL, "version": ADDRESS},
        ),
        (
            "case_api/appeal_case.json",
            {"path_params": {"case_id": case_id}, "sub": "user-bob"},
            {"reason": 1, "x": PHONE},
        ),
        (
            "case_api/decide_appeal.json",
            {"path_params": {"case_id": case_id}, "sub": "a-1", "groups": ["appeals"]},
            {"result": EMAIL, "version": PHONE},
        ),
        (
            "case_api/mark_dedicated_exposure.json",
            {"path_params": {"account_id": "u"}, "sub": "ad", "groups": ["admins"]},
            {"dedicated_to_exposure": ADDRESS},
        ),
    ):
        status, answer, _ = stack.http(event_file, body=body, **kwargs)
        assert status == 422, (event_file, status, answer)
        answers.append((status, answer))
    # a poison SQS message carrying the secrets: failed alone, never logged
    sqs = stack.session.client("sqs")
    for queue in ("EvaluationQueue", "EffectsQueue", "NotificationQueue"):
        sqs.send_message(
            QueueUrl=stack.resources.queues[queue],
            MessageBody=json.dumps(
                {"type": "report_submitted", "report_id": PHONE, "recipient_id": EMAIL, "x": ADDRESS}
            ),
        )
    stack.deliver("EvaluationQueue", "policy_evaluation", rounds=1)
    stack.deliver("EffectsQueue", "effects", rounds=1)
    stack.deliver("NotificationQueue", "notification", rounds=1)
    return answers


def test_no_seeded_personal_data_in_logs_errors_notifications_or_emails(
    stack: Stack, captured_logs: io.StringIO, capfd: pytest.CaptureFixture[str], record_property: Any
) -> None:
    answers = _seeded_pipeline(stack)
    printed = capfd.readouterr()
    logs = captured_logs.getvalue()
    lines = logs.count("\n")
    notifications = [n for sub in ("user-rosa", "user-bob", "user-dave") for n in stack.inbox(sub)]
    emails = list(get_backend("ses")["123456789012"]["eu-west-1"].sent_messages)

    assert lines > 15 and "report accepted" in logs and "case evaluated" in logs  # the pipeline really ran and logged
    assert len(notifications) >= 8 and emails
    found = {
        where: [s for s in SECRETS if s in text]
        for where, text in {
            "function logs": logs,
            "stdout/stderr (metrics and anything printed)": printed.out + printed.err,
            "HTTP answers": json.dumps(answers),
            "notifications": json.dumps(notifications),
            "emails": json.dumps([f"{e.subject} {e.body}" for e in emails]),
        }.items()
    }
    assert all(not hits for hits in found.values()), found
    record_property(
        "figure",
        f"0 of 3 seeded values in {lines} log lines, {len(answers)} error bodies, "
        f"{len(notifications)} notifications, {len(emails)} emails",
    )


def test_request_models_hide_input_in_validation_errors() -> None:
    from consent_guard.models import api

    bodies = [getattr(api, name) for name in api.__all__]  # the package loads its modules on first use
    requests = [m for m in bodies if isinstance(m, type) and issubclass(m, api.Request) and m is not api.Request]
    assert len(requests) >= 8
    for model in requests:
        assert model.model_config.get("hide_input_in_errors") is True, model.__name__
        assert model.model_config.get("extra") == "forbid", model.__name__


def test_no_tracer_records_responses() -> None:
    """The template traces at the service level only; if the SDK Tracer is ever used, it must not capture
    responses (they can hold a case's reports), in code or through the environment."""
    env = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    offenders = []
    for path in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "Tracer",
                "capture_lambda_handler",
                "capture_method",
            ):
                explicit = any(
                    k.arg == "capture_response" and isinstance(k.value, ast.Constant) and k.value.value is False
                    for k in node.keywords
                )
                if not explicit and str(env.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "")).lower() != "false":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_no_media_hash_in_logs_errors_notifications_or_events(
    stack: Stack, captured_logs: io.StringIO, capfd: pytest.CaptureFixture[str], record_property: Any
) -> None:
    """Hashes of intimate images are sensitive: a person protects a photo, a near copy is uploaded and matched, a
    moderator removes it, the exact file is uploaded again; invalid signals are rejected. No hash (the registered
    one, the uploads', or a rejected one) appears in logs, HTTP answers, notifications, emails or case events."""
    from tests.hashing import jpeg, photo, reencoded_and_resized, signals_of

    mine = signals_of(jpeg(photo(21)))
    upload = signals_of(reencoded_and_resized(photo(21)))
    rejected = "f" * 63  # one digit short: 422
    hashes = {mine["md5"], mine["sha256"], mine["pdq"], upload["md5"], upload["sha256"], upload["pdq"], rejected}
    answers: list[tuple[int, dict[str, Any]]] = []
    stack.account_context("user-rosa", contact_email="rosa@example.org")
    stack.account_context("user-eve", contact_email="eve@example.org")
    status, registered, _ = stack.http(
        "case_api/register_protected_media.json",
        body={"category": "intimate_media", "media_type": "photo", **mine},
        sub="user-rosa",
    )
    answers.append((status, registered))
    answers.append(stack.http("case_api/list_protected_media.json", sub="user-rosa")[:2])

    def post(post_id: str, signals: dict[str, Any]) -> None:
        answers.append(
            stack.http(
                "report_intake/put_post_context.json",
                path_params={"post_id": post_id},
                body={
                    "author_id": "user-eve",
                    "media": [{"media_id": f"{post_id}-m", "media_type": "photo", **signals}],
                    "created_at": "2026-11-20T10:00:00Z",
                },
            )[:2]
        )
        for _ in range(3):
            stack.deliver("MatchingQueue", "media_matching")
            stack.run_pipeline()

    post("post-h1", upload)
    from consent_guard.ids import case_id_for

    case_id = case_id_for("post-h1", "intimate_media")
    status, view, _ = stack.http(
        "case_api/get_case.json", path_params={"case_id": case_id}, sub="m", groups=["moderators"]
    )
    answers.append((status, view))
    assert view["decision"]["rule_ids"] == ["PIM-M3"], view
    answers.append(
        stack.http(
            "case_api/decide_case.json",
            path_params={"case_id": case_id},
            body={"outcome": "remove", "rule_id": "PIM-10", "version": view["case"]["version"]},
            sub="m",
            groups=["moderators"],
        )[:2]
    )
    stack.run_pipeline()
    post("post-h2", mine)  # the exact file again: removed automatically (PIM-M1)
    answers.append(stack.http("media_matching/check_media.json", body={"media_type": "photo", **upload})[:2])
    for event_file, kwargs, body in (
        (
            "case_api/register_protected_media.json",
            {"sub": "user-rosa"},
            {"category": "intimate_media", "media_type": "photo", "sha256": rejected},
        ),
        ("media_matching/check_media.json", {}, {"media_type": "video", "pdq": mine["pdq"], "pdq_quality": 90}),
        (
            "report_intake/put_post_context.json",
            {"path_params": {"post_id": "p"}},
            {
                "author_id": "a",
                "created_at": "2026-11-20T10:00:00Z",
                "media": [{"media_id": "m", "media_type": "photo", "md5": rejected}],
            },
        ),
    ):
        status, answer, _ = stack.http(event_file, body=body, **kwargs)
        assert status == 422, (event_file, answer)
        answers.append((status, answer))
    printed = capfd.readouterr()
    logs = captured_logs.getvalue()
    notifications = [n for sub in ("user-rosa", "user-eve") for n in stack.inbox(sub)]
    emails = list(get_backend("ses")["123456789012"]["eu-west-1"].sent_messages)
    events = [i for i in stack.table().scan()["Items"] if str(i.get("SK", "")).startswith("EVENT#")]
    stored_events = sum(1 + len(json.loads(i.get("more", "[]"))) for i in events)  # an item holds a change's events
    kinds = {n["kind"] for n in notifications}
    assert {"protected_media_matched", "statement_of_reasons", "outcome"} <= kinds, kinds
    assert "case opened by a bank match" in logs and stored_events >= 4 and emails
    found = {
        where: sorted(h for h in hashes if h in text)
        for where, text in {
            "function logs": logs,
            "stdout/stderr": printed.out + printed.err,
            "HTTP answers": json.dumps(answers),
            "notifications": json.dumps(notifications),
            "emails": json.dumps([f"{e.subject} {e.body}" for e in emails]),
            "case events": json.dumps(events, default=str),
        }.items()
    }
    assert all(not hits for hits in found.values()), found
    record_property(
        "figure",
        f"0 of {len(hashes)} media hashes in {logs.count(chr(10))} log lines, {len(answers)} answers, "
        f"{len(notifications)} notifications, {stored_events} case events",
    )
