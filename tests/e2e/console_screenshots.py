"""docs/console-queue.png and docs/console-case.png: the console against a fresh local stack (`make screenshots`)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from local.client import LocalStackClient
from local.process import running_stack
from tests.e2e.console_seed import review_case

ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> int:
    with tempfile.TemporaryDirectory() as workdir, running_stack(Path(workdir)) as (url, _log):
        with LocalStackClient(url) as stack:
            review_case(stack, category="intimate_media", description="This is me. I never shared it.", reporters=3)
            case = review_case(
                stack,
                category="financial_information",
                description="Her card number and IBAN are in the photo. <img src=x onerror=alert(1)>",
                reporters=2,
                trusted_flagger=True,
            )
            review_case(stack, category="contact_information", description="My phone number.", media=1)
            review_case(stack, category="home_address_or_location", description="That is my street.", media=0)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), headless=True, args=ARGS
            )
            page = browser.new_page(viewport={"width": 1360, "height": 620})
            page.goto(f"{url}/console/")
            page.fill("#signin-sub", "moderator-ana")
            page.click("#signin-submit")
            expect(page.locator("#queue-table")).to_be_visible()
            page.keyboard.press("j")
            page.screenshot(path=str(ROOT / "docs" / "console-queue.png"))
            page.set_viewport_size({"width": 1360, "height": 1100})
            page.goto(f"{url}/console/#/case/{case['case_id']}")
            expect(page.locator("#case-title")).to_be_visible()
            page.locator("li.media button.reveal").first.click()
            expect(page.locator("li.media.revealed")).to_have_count(1)
            page.locator("body").focus()
            page.keyboard.press("c")
            expect(page.locator("#claim-status")).to_contain_text("Claimed by you")
            page.keyboard.press("r")
            expect(page.locator("#preview-statement")).to_be_visible()
            page.screenshot(path=str(ROOT / "docs" / "console-case.png"))
            browser.close()
    print("docs/console-queue.png docs/console-case.png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
