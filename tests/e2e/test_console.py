"""The moderator console in a real browser (Debian's chromium driven by playwright) against the local stack."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import LocalStackHandle
from tests.e2e.console_seed import XSS, decide, review_case

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as actions: a loaded CI machine is slow, not wrong


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield launched
        launched.close()


class Console:
    """One signed-in person's tab, with every dialog and page error it saw."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.url = url
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def sign_in(self, sub: str, *groups: str) -> Console:
        page = self.page
        page.goto(f"{self.url}/console/")
        page.fill("#signin-sub", sub)
        for box in page.locator("input[name=groups]").all():
            box.set_checked(box.get_attribute("value") in groups)
        page.click("#signin-submit")
        expect(page.locator("#who")).to_contain_text(sub)
        return self

    def open_case(self, case_id: str) -> None:
        self.page.goto(f"{self.url}/console/#/case/{case_id}")
        expect(self.page.locator("#case-title")).to_have_text(f"Case {case_id}")

    def close(self) -> None:
        assert not self.errors, self.errors
        self.context.close()


@pytest.fixture
def console(browser: Any, local_stack: LocalStackHandle) -> Iterator[Any]:
    opened: list[Console] = []

    def make() -> Console:
        opened.append(Console(browser, local_stack.url))
        return opened[-1]

    yield make
    for c in opened:
        c.close()


def test_moderator_reveals_claims_and_decides_with_the_keyboard(console: Any, local_stack: LocalStackHandle) -> None:
    seeded = review_case(local_stack.client, category="identity_document", reporters=2)
    case_id = seeded["case_id"]
    tab = console().sign_in("mod-keys", "moderators")
    page = tab.page

    # the queue, filtered to the case's category with the keyboard-reachable select
    page.select_option("#category-filter", "identity_document")
    row = page.locator(f"tr[data-case-id='{case_id}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("identity document")
    expect(row.locator("td").nth(3)).to_have_text("2")  # report count
    expect(row).to_contain_text("in 23 h")  # SLA due
    expect(page.locator("#queue-counts")).to_contain_text("waiting")

    # open it with the keyboard: j/k move the selection, Enter opens
    position = int(row.get_attribute("data-index") or "0")
    page.locator("body").focus()
    for _ in range(position):
        page.keyboard.press("j")
    expect(row).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    expect(page.locator("#case-title")).to_have_text(f"Case {case_id}")

    # media: blurred and grey until revealed; a reveal is recorded as a case event
    first = page.locator("li.media").first
    expect(first).to_have_class(re.compile(r"\bconcealed\b"))
    assert "blur" in first.locator(".media-content").evaluate("e => getComputedStyle(e).filter")
    assert "grayscale" in first.locator(".media-content").evaluate("e => getComputedStyle(e).filter")
    first.locator("button.reveal").click()
    expect(page.locator("li.media").first).to_have_class(re.compile(r"\brevealed\b"))
    expect(page.locator("li.media").nth(1)).to_have_class(re.compile(r"\bconcealed\b"))
    expect(page.locator("#timeline li[data-type='media_viewed']")).to_contain_text("mod-keys")

    # every control of the case view has an accessible name
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('main button, main input, main select, main textarea, main a')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
            .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert unlabelled == []

    # claim, remove, the statement of reasons previewed, submit: all from the keyboard
    page.locator("body").focus()
    page.keyboard.press("c")
    expect(page.locator("#claim-status")).to_contain_text("Claimed by you")
    page.keyboard.press("r")
    expect(page.locator("#preview-statement")).to_contain_text("Rule PIM-")
    page.keyboard.press("s")
    expect(page.locator("#action-result")).to_contain_text("Saved.")
    expect(page.locator(".case-meta")).to_contain_text("actioned")

    view = local_stack.client.as_user("auditor", groups=["moderators"]).get(f"/cases/{case_id}").json()
    viewed = [e for e in view["events"] if e["type"] == "media_viewed"]
    assert [(e["actor"], e["data"]["media_id"]) for e in viewed] == [("mod-keys", f"{seeded['post_id']}-m1")]
    assert view["decision"]["outcome"] == "remove" and view["decision"]["decided_by"] == "mod-keys"

    # the case has left the queue
    page.keyboard.press("1")
    expect(page.locator("#queue-counts")).to_be_visible()
    expect(page.locator(f"tr[data-case-id='{case_id}']")).to_have_count(0)


def test_second_moderator_sees_the_409_with_the_winners_decision(console: Any, local_stack: LocalStackHandle) -> None:
    case_id = review_case(local_stack.client)["case_id"]
    tab = console().sign_in("mod-late", "moderators")
    tab.open_case(case_id)
    page = tab.page
    decide(local_stack.client, case_id, "mod-first")  # someone else wins meanwhile

    page.locator("body").focus()
    page.keyboard.press("n")
    expect(page.locator("#preview-statement")).to_be_visible()
    page.keyboard.press("s")
    conflict = page.locator("#conflict")
    expect(conflict).to_contain_text("409")
    expect(page.locator("#winner-decision")).to_contain_text("Winner's decision: remove")
    expect(page.locator("#winner-decision")).to_contain_text("by a person")


def test_appeal_reviewer_decides_and_the_original_decider_is_refused(
    console: Any, local_stack: LocalStackHandle
) -> None:
    seeded = review_case(local_stack.client)
    case_id = seeded["case_id"]
    decide(local_stack.client, case_id, "mod-both", groups=("moderators", "appeals"))
    author = local_stack.client.as_user(seeded["author_id"])
    author.post(f"/cases/{case_id}/appeals", json={"reason": "It was my own card. " + XSS}).raise_for_status()

    # the original decider is told up front, and cannot act (nor can the API be talked into it)
    decider = console().sign_in("mod-both", "moderators", "appeals")
    decider.page.keyboard.press("2")
    expect(decider.page.locator(f"tr[data-case-id='{case_id}']")).to_be_visible()
    decider.open_case(case_id)
    expect(decider.page.locator("#own-decision")).to_contain_text("You made this decision")
    expect(decider.page.locator("#submit")).to_be_disabled()
    decider.page.locator("body").focus()
    decider.page.keyboard.press("u")
    decider.page.keyboard.press("s")
    expect(decider.page.locator("#submit")).to_be_disabled()
    as_decider = local_stack.client.as_user("mod-both", groups=["moderators", "appeals"])
    version = as_decider.get(f"/cases/{case_id}").json()["case"]["version"]
    refused = as_decider.post(f"/cases/{case_id}/appeals/decision", json={"result": "uphold", "version": version})
    assert refused.status_code == 403, refused.text

    # another reviewer sees the removed content and the rule, and upholds with the keyboard
    reviewer = console().sign_in("appeals-reviewer", "appeals")
    reviewer.open_case(case_id)
    page = reviewer.page
    expect(page.locator("#decider-rule")).to_contain_text("by mod-both")
    expect(page.locator("#decider-rule")).to_contain_text("someone other than the person who made the decision")
    expect(page.locator("#post-text")).to_have_text("here are her card numbers <b>lol</b>")
    expect(page.locator("li.media")).to_have_count(2)
    expect(page.locator(".appeal-reason")).to_have_text("It was my own card. " + XSS)
    page.locator("body").focus()
    page.keyboard.press("u")
    page.keyboard.press("s")
    expect(page.locator("#action-result")).to_contain_text("Saved.")
    expect(page.locator(".case-meta")).to_contain_text("actioned")
    assert not reviewer.dialogs


def test_attacker_controlled_text_renders_as_inert_text(console: Any, local_stack: LocalStackHandle) -> None:
    case_id = review_case(local_stack.client, description=XSS, text=f"post {XSS}")["case_id"]
    tab = console().sign_in("mod-xss", "moderators")
    tab.open_case(case_id)
    page = tab.page
    expect(page.locator(".report-description").first).to_have_text(XSS)
    expect(page.locator("#post-text")).to_have_text(f"post {XSS}")
    assert page.locator("main img").count() == 0
    page.wait_for_timeout(300)  # give a would-be onerror handler time to fire
    assert tab.dialogs == []
    # the token is in this tab's session storage only, never in local storage or the address
    assert page.evaluate("() => localStorage.length") == 0
    assert "eyJ" not in page.url


def test_api_docs_render_offline_from_our_own_origin(browser: Any, local_stack: LocalStackHandle) -> None:
    context = browser.new_context()
    page = context.new_page()
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(local_stack.url) or r.url.startswith("data:") else elsewhere.append(r.url),
    )
    page.goto(f"{local_stack.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=TIMEOUT_MS)
    assert page.locator(".opblock-summary-path", has_text="/cases/{case_id}/media-views").count() == 1
    assert elsewhere == []
    context.close()


def test_the_moderators_shared_inbox(console: Any) -> None:
    tab = console().sign_in("mod-inbox", "moderators")
    page = tab.page
    with page.expect_response(lambda r: "/me/notifications" in r.url) as answered:
        page.keyboard.press("3")
    assert "inbox=moderators" in answered.value.url and answered.value.status == 200
    expect(page.locator("#inbox-select")).to_have_value("moderators")
    expect(page.locator("#inbox")).to_contain_text("Shared inbox: moderators")


def test_admins_see_the_live_statistics_and_download_them_as_csv(console: Any, local_stack: LocalStackHandle) -> None:
    import csv
    import io

    from local.client import wait_until

    admin = local_stack.client.as_user("admin-stats", groups=["admins"])
    before = admin.get("/stats", params={"group_by": "total"}).json()
    seeded = review_case(local_stack.client, category="contact_information")
    decide(local_stack.client, seeded["case_id"], "mod-stats")

    def counted() -> bool:
        now = admin.get("/stats", params={"group_by": "total"}).json()
        return now["periods"][0]["decisions"]["total"] > before["periods"][0]["decisions"]["total"]

    wait_until(counted, timeout=20, message="the decision counted")
    report = admin.get("/stats", params={"group_by": "total"}).json()
    (period,) = report["periods"]

    tab = console().sign_in("admin-stats", "admins")
    page = tab.page
    page.click("nav a[data-screen=stats]")
    expect(page.locator("#stats-title")).to_have_text("Statistics")
    expect(page.locator("#stat-notices .figure")).to_have_text(str(period["notices"]["total"]))
    expect(page.locator("#stat-decisions .figure")).to_have_text(str(period["decisions"]["total"]))
    expect(page.locator("#stat-by-category tr[data-key=contact_information] td")).to_have_text(
        str(period["notices"]["by_category"]["contact_information"])
    )
    expect(page.locator("#pending-in_review .figure")).to_have_text(str(report["pending"]["in_review"]["count"]))
    expect(page.locator("#stats-body")).to_contain_text("within 9.05 %")

    with page.expect_download() as downloaded:
        page.click("#stats-csv")
    path = downloaded.value.path()
    text = Path(path).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows and set(rows[0]) == {"period", "from", "to", "metric", "value"}
    figures = {r["metric"]: r["value"] for r in rows if r["period"] == "total"}
    assert int(figures["decisions.total"]) >= period["decisions"]["total"]
    assert downloaded.value.suggested_filename.endswith("-total.csv")

    # a moderator has no statistics link, and the page answers what the API does: not for you
    moderator = console().sign_in("mod-no-stats", "moderators")
    expect(moderator.page.locator("nav a[data-screen=stats]")).to_be_hidden()
    moderator.page.goto(f"{local_stack.url}/console/#/stats")
    expect(moderator.page.locator("#stats-body [role=alert]")).to_be_visible()
