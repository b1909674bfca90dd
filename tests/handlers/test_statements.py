"""Statements of reasons reach the EU Transparency Database (DSA Art. 24(5)): each restricting decision commits one
with the change, the submitter function (events/statement_submitter/scheduled.json) delivers it exactly once to the
fake database of local/tdb.py over HTTP, through 429s, 5xx, timeouts, duplicates and invalid neighbours."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from consent_guard.models.tdb import PendingStatement, SubmissionStatus
from consent_guard.repository.statements import StatementRepository
from consent_guard.transparency_db import TdbUnauthorized, TdbUnavailable
from local.tdb import FakeTdbServer, FakeTransparencyDatabase
from tests.conftest import load_event
from tests.handlers.conftest import Stack
from tests.handlers.test_cases import (
    _appeal,
    _case,
    _decide,
    _decide_appeal,
    _in_review,
    _removed_automatically,
    _reporter_appeal,
)

TOKEN_PARAMETER = "/consent-guard/dev/tdb-api-token"  # the template default: the scorecard matches it to the role
TOKEN = "tdb-token-for-tests-7Hq2"


@pytest.fixture
def tdb(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTransparencyDatabase]:
    """The fake database on 127.0.0.1, its token in SSM, the submitter in sandbox mode against it."""
    database = FakeTransparencyDatabase(TOKEN, max_requests_per_second=0)
    database.hang_seconds = 1.0
    server = FakeTdbServer(database)
    server.start()
    stack.session.client("ssm").put_parameter(Name=TOKEN_PARAMETER, Value=TOKEN, Type="SecureString")
    monkeypatch.setenv("TDB_MODE", "sandbox")
    monkeypatch.setenv("TDB_BASE_URL", server.url)
    monkeypatch.setenv("TDB_TOKEN_PARAMETER", TOKEN_PARAMETER)
    monkeypatch.setenv("TDB_TIMEOUT_SECONDS", "0.3")
    monkeypatch.setenv("TDB_REFERENCE_URL", "https://example.eu/terms")
    _fresh_submitter()
    try:
        yield database
    finally:
        server.stop()


def _fresh_submitter() -> None:
    from consent_guard import config, transparency_db
    from consent_guard.consumers import statements

    config.clear_settings_cache()
    statements.submitter.cache_clear()
    transparency_db.api_token.cache_clear()


SLEEPS: list[float] = []


def submit(stack: Stack) -> dict[str, Any]:
    """One scheduled run of the submitter function; its backoff sleeps are recorded instead of slept."""
    from consent_guard.consumers.statements import submitter

    client = submitter().client
    if client is not None:
        client.sleep = SLEEPS.append
    result: dict[str, Any] = stack.handler("statement_submitter").lambda_handler(
        load_event("statement_submitter/scheduled.json"), stack.context
    )
    return result


def statements(stack: Stack) -> list[PendingStatement]:
    items = stack.table().scan()["Items"]
    repository = StatementRepository(stack.resources.tables["ConsentGuardTable"])
    return sorted(
        (s for i in items if str(i["SK"]).startswith("STATEMENT#") for s in repository.of_case(str(i["case_id"]))),
        key=lambda s: s.puid,
    )


def pending_in_index(stack: Stack) -> int:
    return len(StatementRepository(stack.resources.tables["ConsentGuardTable"]).pending(100))


# ---------------------------------------------------------------- one statement per restricting decision


def test_an_automated_removal_commits_its_statement_and_it_is_accepted_once(
    stack: Stack, tdb: FakeTransparencyDatabase
) -> None:
    case_id = _removed_automatically(stack)["case"]["case_id"]

    [owed] = statements(stack)
    assert owed.status is SubmissionStatus.PENDING and pending_in_index(stack) == 1
    seq = next(e["seq"] for e in _case(stack, case_id)["events"] if e["type"] == "enforcement_applied")
    assert owed.puid == f"cg-{case_id}-{seq}"

    result = submit(stack)

    assert result["submitted"] == 1 and result["batches"] == 1
    [accepted] = tdb.accepted()
    assert accepted["puid"] == owed.puid
    assert accepted["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert accepted["category_specification"] == ["KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"]
    assert accepted["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert accepted["source_type"] == "SOURCE_ARTICLE_16"
    assert accepted["decision_ground_reference_url"] == "https://example.eu/terms"
    view = _case(stack, case_id)["statements"]
    assert view == [
        {
            "puid": owed.puid,
            "decision_seq": seq,
            "status": "submitted",
            "tdb_uuid": accepted["uuid"],
            "permalink": accepted["permalink"],
            "submitted_at": view[0]["submitted_at"],
            "rejected_fields": [],
        }
    ]
    # nothing left: the next run sends nothing
    requests = tdb.requests
    assert submit(stack)["batches"] == 0 and tdb.requests == requests and pending_in_index(stack) == 0


def test_the_author_sees_no_statement_records(stack: Stack, tdb: FakeTransparencyDatabase) -> None:
    case_id = _removed_automatically(stack)["case"]["case_id"]
    submit(stack)
    status, view, _ = stack.http("case_api/get_case.json", path_params={"case_id": case_id}, sub="user-bob", groups=[])
    assert status == 200 and view.get("statements") is None


def test_a_moderators_removal_is_not_automated_and_goes_once(stack: Stack, tdb: FakeTransparencyDatabase) -> None:
    view = _in_review(stack)
    case_id = view["case"]["case_id"]
    assert statements(stack) == []  # routed to review: nothing restricted yet

    status, _ = _decide(stack, case_id, view["case"]["version"])
    assert status == 200
    submit(stack)

    [accepted] = tdb.accepted()
    assert accepted["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert accepted["automated_detection"] == "No"
    assert accepted["category"] == "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    assert accepted["category_specification"] == ["KEYWORD_OTHER"]
    assert accepted["content_type"] == ["CONTENT_TYPE_IMAGE", "CONTENT_TYPE_TEXT"]
    assert "PIM-12" in accepted["incompatible_content_ground"]


def test_no_action_owes_no_statement_and_an_overturned_dismissal_owes_a_new_one(
    stack: Stack, tdb: FakeTransparencyDatabase
) -> None:
    stack.post_context(public_interest=True)
    stack.account_context("user-alice", public_figure=True)
    accepted = stack.report()
    case_id = accepted["case_id"]
    stack.run_pipeline()
    assert _case(stack, case_id)["case"]["state"] == "dismissed" and statements(stack) == []

    assert _reporter_appeal(stack, accepted["report_id"], "user-alice")[0] == 200
    status, _ = _decide_appeal(stack, case_id, _case(stack, case_id)["case"]["version"], "overturn", "PIM-8")
    assert status == 200
    submit(stack)

    [accepted] = tdb.accepted()
    assert accepted["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"


def test_a_removal_overturned_on_appeal_keeps_its_one_statement(stack: Stack, tdb: FakeTransparencyDatabase) -> None:
    case_id = _removed_automatically(stack)["case"]["case_id"]
    submit(stack)
    assert _appeal(stack, case_id, "user-bob")[0] == 200
    status, _ = _decide_appeal(stack, case_id, _case(stack, case_id)["case"]["version"], "overturn", "PIM-8")
    assert status == 200

    submit(stack)

    # the database has no update: the restriction's statement stays, lifting it restricts nothing (docs/)
    assert len(tdb.accepted()) == 1 and len(statements(stack)) == 1


# ---------------------------------------------------------------- faults


def test_429_5xx_and_timeouts_are_retried_with_backoff_and_jitter(stack: Stack, tdb: FakeTransparencyDatabase) -> None:
    _removed_automatically(stack)
    tdb.inject(429, 503, "timeout", 500)
    SLEEPS.clear()

    result = submit(stack)

    assert result["submitted"] == 1 and result["requests"] == 5
    assert len(tdb.accepted()) == 1
    assert len(SLEEPS) == 4
    ceilings = [0.5, 1.0, 2.0, 4.0]
    assert all(0 <= s <= c for s, c in zip(SLEEPS, ceilings, strict=True))  # full jitter under a growing cap


def test_an_outage_longer_than_the_retries_fails_the_run_and_the_next_run_delivers(
    stack: Stack, tdb: FakeTransparencyDatabase
) -> None:
    _removed_automatically(stack)
    tdb.inject(503, 503, 502, 504, 500)

    with pytest.raises(TdbUnavailable):
        submit(stack)  # the run fails: retried by Lambda, then its DLQ and alarm

    assert tdb.accepted() == [] and pending_in_index(stack) == 1
    assert submit(stack)["submitted"] == 1 and len(tdb.accepted()) == 1


def test_a_statement_already_in_the_database_is_confirmed_by_its_puid(
    stack: Stack, tdb: FakeTransparencyDatabase
) -> None:
    """A run that crashed after the database accepted, before it was marked: the retry is not a second statement."""
    _removed_automatically(stack)
    [owed] = statements(stack)
    tdb._keep([owed.statement])

    result = submit(stack)

    assert result["already_there"] == 1 and result["submitted"] == 0
    assert len(tdb.accepted()) == 1 and statements(stack)[0].status is SubmissionStatus.SUBMITTED
    assert tdb.answers.get(302) == 1


def test_one_invalid_statement_in_a_batch_is_set_aside_and_the_others_go(
    stack: Stack, tdb: FakeTransparencyDatabase
) -> None:
    """The database's rules moved on (as on 1 July 2025): it refuses one statement of the batch."""
    for n, category in enumerate(["intimate_media", "incentive_to_expose", "threat_to_expose"]):
        stack.post_context(f"post-{n}")
        stack.report(post_id=f"post-{n}", category=category)
    stack.run_pipeline()
    assert len(statements(stack)) == 3
    tdb.retired.add("KEYWORD_CYBER_INCITEMENT")

    result = submit(stack)

    assert result["submitted"] == 2 and result["rejected"] == 1
    accepted = {s["category_specification"][0] for s in tdb.accepted()}
    assert "KEYWORD_CYBER_INCITEMENT" not in accepted and len(accepted) == 2
    rejected = [s for s in statements(stack) if s.status is SubmissionStatus.REJECTED]
    assert [s.rejected_fields for s in rejected] == [("category_specification",)]
    assert pending_in_index(stack) == 0
    assert submit(stack)["batches"] == 0  # rejected is kept and alarmed, not resent forever


def test_batches_hold_at_most_100_statements(stack: Stack, tdb: FakeTransparencyDatabase) -> None:
    _removed_automatically(stack)
    [owed] = statements(stack)
    repository = StatementRepository(stack.resources.tables["ConsentGuardTable"])
    for seq in range(100, 229):  # 129 more statements of the same shape, each with its own puid
        copy = owed.model_copy(
            update={"seq": seq, "statement": owed.statement.model_copy(update={"puid": f"cg-{owed.case_id}-{seq}"})}
        )
        repository.client.transact_write_items(
            TransactItems=[_put(repository, copy)]  # type: ignore[list-item]
        )

    result = submit(stack)

    assert result["submitted"] == 130 and result["batches"] == 2 and result["requests"] == 2
    assert len(tdb.accepted()) == 130


def _put(repository: StatementRepository, pending: PendingStatement) -> dict[str, Any]:
    from consent_guard.repository.statements import statement_put

    return statement_put(repository.table_name, pending)


# ---------------------------------------------------------------- configuration and the token


def test_submission_off_records_statements_and_sends_nothing(
    stack: Stack, tdb: FakeTransparencyDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TDB_MODE", "off")
    _fresh_submitter()
    _removed_automatically(stack)

    assert submit(stack)["mode"] == "off"
    assert tdb.requests == 0 and pending_in_index(stack) == 1


def test_production_refuses_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from consent_guard.config import SubmitterSettings

    env = {"TABLE_NAME": "cg-table", "TDB_MODE": "production", "TDB_TOKEN_PARAMETER": "/p"}
    with pytest.raises(ValidationError, match="https"):
        SubmitterSettings.model_validate({**env, "TDB_BASE_URL": "http://transparency.dsa.ec.europa.eu"})
    with pytest.raises(ValidationError, match="required"):
        SubmitterSettings.model_validate({**env, "TDB_BASE_URL": ""})
    assert SubmitterSettings.model_validate({"TABLE_NAME": "cg-table"}).mode.value == "off"  # off by default


def test_the_token_is_read_once_per_warm_container_and_never_logged(
    stack: Stack, tdb: FakeTransparencyDatabase, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from consent_guard import transparency_db

    calls: list[str] = []
    real = transparency_db.ssm_client()
    original = real.get_parameter

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["Name"])
        return original(**kwargs)

    real.get_parameter = counting
    caplog.set_level(logging.INFO)  # botocore itself logs response bodies only at DEBUG, which Lambda never enables
    caplog.set_level(logging.DEBUG, logger="consent-guard")
    for n in range(3):
        stack.post_context(f"post-{n}")
        stack.report(post_id=f"post-{n}")
        stack.run_pipeline()
        tdb.inject(429)
        submit(stack)

    assert calls == [TOKEN_PARAMETER]
    assert len(tdb.accepted()) == 3
    output = capsys.readouterr()
    assert TOKEN not in output.out + output.err + caplog.text
    assert TOKEN not in json.dumps(dict(os.environ))


def test_a_refused_token_fails_the_run_and_keeps_the_statements(stack: Stack, tdb: FakeTransparencyDatabase) -> None:
    _removed_automatically(stack)
    tdb.token = "a-newly-generated-token"  # generating a new token invalidates the old one

    with pytest.raises(TdbUnauthorized):
        submit(stack)
    assert pending_in_index(stack) == 1 and tdb.accepted() == []


# ---------------------------------------------------------------- no personal data leaves


NAME, PHONE, ADDRESS, EMAIL = "Jane Doe", "+44 7700 900123", "12 Acacia Avenue, Springfield", "jane.doe@example.com"
SEEDED = f"{NAME}, {PHONE}, {ADDRESS}, {EMAIL}"
ID_SEEDED = "jane.doe-7700900123-acacia"
FRAGMENTS = ("Jane", "Doe", "7700", "900123", "Acacia", "Springfield", "example.com", "jane", "acacia")


def test_no_personal_data_reaches_a_statement(stack: Stack, tdb: FakeTransparencyDatabase) -> None:
    """A name, a phone number, an address and an email in every free-text input and every id of a person or post:
    none of it, nor any part of it, is in what the database receives."""
    # automated removal: post text, report description, ids of the post, its author, its media and the reporter
    for n, category in enumerate(["intimate_media", "home_address_or_location"]):
        post_id = f"{ID_SEEDED}-post-{n}"
        status, _, _ = stack.http(
            "report_intake/put_post_context.json",
            path_params={"post_id": post_id},
            body={
                "author_id": f"{ID_SEEDED}-author",
                "text": SEEDED,
                "media": [{"media_id": f"{ID_SEEDED}-media-{n}", "media_type": "photo"}],
                "created_at": "2026-11-20T10:00:00Z",
            },
        )
        assert status == 200
        stack.report(
            sub=f"{ID_SEEDED}-reporter-{n}",
            post_id=post_id,
            category=category,
            relationship="self" if n == 0 else "other",
            description=SEEDED,
        )
    stack.run_pipeline()
    # a moderator's decision with a note, on each case routed to review
    waiting = stack.http("case_api/list_cases.json", query={"queue": "review"}, sub="mod-1", groups=["moderators"])[1][
        "items"
    ]
    assert waiting
    citable = {"intimate_media": "PIM-10"}  # the rest of the seeded categories cite PIM-12
    for case in waiting:
        rule = citable.get(case["category"], "PIM-12")
        status, _ = _decide(stack, case["case_id"], case["version"], rule_id=rule, note=SEEDED)
        assert status == 200, _

    # an appeal reason, on a reporter's appeal that turns no action into a removal
    stack.http(
        "report_intake/put_post_context.json",
        path_params={"post_id": f"{ID_SEEDED}-post-9"},
        body={
            "author_id": f"{ID_SEEDED}-author",
            "text": SEEDED,
            "media": [{"media_id": f"{ID_SEEDED}-media-9", "media_type": "video"}],
            "created_at": "2026-11-20T10:00:00Z",
            "signals": {"public_interest": True},
        },
    )
    stack.account_context(f"{ID_SEEDED}-reporter-9", public_figure=True)
    accepted = stack.report(sub=f"{ID_SEEDED}-reporter-9", post_id=f"{ID_SEEDED}-post-9", description=SEEDED)
    case_id = accepted["case_id"]
    stack.run_pipeline()
    status, _, _ = stack.http(  # a reporter appeals through their report
        "case_api/appeal_report.json",
        path_params={"report_id": accepted["report_id"]},
        body={"reason": SEEDED},
        sub=f"{ID_SEEDED}-reporter-9",
    )
    assert status == 200
    status, _ = _decide_appeal(stack, case_id, _case(stack, case_id)["case"]["version"], "overturn", "PIM-8")
    assert status == 200

    submit(stack)

    sent = json.dumps(tdb.accepted())
    assert len(tdb.accepted()) >= 3  # automated, human and appeal decisions all sent
    for fragment in (NAME, PHONE, ADDRESS, EMAIL, ID_SEEDED, *FRAGMENTS):
        assert fragment not in sent, fragment
    assert "jane" not in sent.lower() and "7700" not in sent
