"""A full story against a running local stack, over real HTTP: context in, reports in, decisions and notifications out.

    make run     # in one terminal
    make demo    # in another: PYTHONPATH=shared python -m local.demo --url http://127.0.0.1:3000

Every run uses fresh ids (a random suffix), so the demo can be run again and again against the same stack. Each
step is a small function in STEPS; a step that doesn't see what it expects within the timeout stops the demo with
a message and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from local.client import LocalStackClient, wait_until
from local.demo_hashbank import STEPS as HASHBANK_STEPS

DEFAULT_URL = "http://127.0.0.1:3000"
DEFAULT_TIMEOUT = 30.0
# the reporter's view of a report that no evaluation has touched yet
NOT_YET_EVALUATED = ("received",)
FULL_ATTESTATIONS = {"accurate_and_complete": True, "information_is_mine": True, "not_published_elsewhere": True}


class DemoFailed(Exception):
    """Something did not happen as the story expects; the message says what."""


# ---------------------------------------------------------------------------------------------- people and ids


@dataclass(frozen=True)
class Cast:
    """The ids of one run. The suffix keeps runs apart on a stack that keeps its data."""

    suffix: str
    author: str
    reporter: str
    bystander: str
    public_figure: str
    stranger: str
    post: str
    public_post: str
    waiting_post: str

    @classmethod
    def new(cls, suffix: str | None = None) -> Cast:
        s = suffix or secrets.token_hex(3)
        return cls(
            suffix=s,
            author=f"author-{s}",
            reporter=f"reporter-{s}",
            bystander=f"bystander-{s}",
            public_figure=f"figure-{s}",
            stranger=f"stranger-{s}",
            post=f"post-{s}-1",
            public_post=f"post-{s}-2",
            waiting_post=f"post-{s}-3",
        )


# ---------------------------------------------------------------------------------------------- output


class Narrator:
    """Numbered steps, one line per fact."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.steps = 0

    def step(self, title: str) -> None:
        self.steps += 1
        print(f"\n{self.steps}. {title}", file=self.out, flush=True)

    def fact(self, text: str) -> None:
        print(f"   {text}", file=self.out, flush=True)

    def block(self, label: str, text: str, lines: int = 4, width: int = 108) -> None:
        """An excerpt of a long text (a statement of reasons): its first lines, each cut to `width`."""
        self.fact(f"{label}:")
        all_lines = [line for line in text.splitlines() if line.strip()]
        for line in all_lines[:lines]:
            self.fact(f"  | {_cut(line, width)}")
        if len(all_lines) > lines:
            self.fact(f"  | ... ({len(all_lines) - lines} more lines)")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


# ---------------------------------------------------------------------------------------------- the story's state


@dataclass
class Story:
    stack: LocalStackClient
    cast: Cast
    say: Narrator
    timeout: float = DEFAULT_TIMEOUT
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> the 202 body
    clients: dict[str, httpx.Client] = field(default_factory=dict)
    last_seen: str = ""  # what the current wait saw last, for the failure message
    notes: dict[str, Any] = field(default_factory=dict)  # what later steps need (e.g. a photo's hashes)

    def person(self, account_id: str) -> httpx.Client:
        if account_id not in self.clients:
            self.clients[account_id] = self.stack.as_user(account_id)
        return self.clients[account_id]

    @property
    def platform(self) -> httpx.Client:
        if "platform" not in self.clients:
            self.clients["platform"] = self.stack.as_platform()
        return self.clients["platform"]

    # -- HTTP with a clear failure
    def call(
        self, client: httpx.Client, method: str, path: str, expect: int, **kwargs: Any
    ) -> tuple[httpx.Response, Any]:
        response = client.request(method, path, **kwargs)
        body = _json_or_text(response)
        if response.status_code != expect:
            raise DemoFailed(
                f"{method} {path} answered {response.status_code}, expected {expect}: {_cut(str(body), 300)}"
            )
        return response, body

    # -- asynchronous outcomes, polled with a bound
    def wait(self, predicate: Callable[[], Any], what: str) -> Any:
        self.last_seen = ""
        try:
            return wait_until(predicate, timeout=self.timeout, interval=0.2, message=what)
        except TimeoutError:
            seen = f"; last seen: {self.last_seen}" if self.last_seen else ""
            raise DemoFailed(
                f"waited {self.timeout:g} s for {what}, in vain{seen}. Is the stack still processing its queues? "
                "Its log says what happened."
            ) from None

    def report_view(self, reporter: str, report_id: str) -> dict[str, Any]:
        _, view = self.call(self.person(reporter), "GET", f"/reports/{report_id}", 200)
        result: dict[str, Any] = view
        return result

    def wait_for_report(
        self, reporter: str, report_id: str, expected: str, pending: Iterable[str] = NOT_YET_EVALUATED
    ) -> dict[str, Any]:
        """Poll GET /reports/{id} until its status leaves `pending`, then insist that it is `expected`."""
        pending = tuple(pending)

        def evaluated() -> dict[str, Any] | None:
            view = self.report_view(reporter, report_id)
            self.last_seen = f"status {view['status']}"
            return view if view["status"] not in pending else None

        view: dict[str, Any] = self.wait(evaluated, f"report {report_id} to reach status {expected}")
        if view["status"] != expected:
            raise DemoFailed(
                f"report {report_id} reached status {view['status']!r} (outcome {view['outcome']!r}, "
                f"rules {view['rule_ids']}), expected {expected!r}"
            )
        return view

    def inbox(self, account_id: str) -> list[dict[str, Any]]:
        _, page = self.call(self.person(account_id), "GET", "/me/notifications", 200, params={"limit": 100})
        items: list[dict[str, Any]] = page["items"]
        return items

    def wait_for_notifications(self, account_id: str, kinds: Iterable[str]) -> list[dict[str, Any]]:
        wanted = sorted(kinds)

        def arrived() -> list[dict[str, Any]] | None:
            items = self.inbox(account_id)
            have = [n["kind"] for n in items]
            self.last_seen = f"{sorted(have)}"
            return items if all(have.count(k) >= wanted.count(k) for k in set(wanted)) else None

        items: list[dict[str, Any]] = self.wait(arrived, f"notifications {wanted} for {account_id}")
        return items

    def wait_for_events(self, case_id: str, detail_types: Iterable[str]) -> list[dict[str, Any]]:
        wanted = set(detail_types)

        def published() -> list[dict[str, Any]] | None:
            events = [e for e in self.stack.events() if e.get("detail", {}).get("case_id") == case_id]
            self.last_seen = f"{sorted(e['detail-type'] for e in events)}"
            return events if wanted <= {e["detail-type"] for e in events} else None

        events: list[dict[str, Any]] = self.wait(
            published, f"enforcement events {sorted(wanted)} for case {case_id} at /local/events"
        )
        return events

    def submit(self, name: str, reporter: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
        response, accepted = self.call(self.person(reporter), "POST", "/reports", 202, json=body, headers=headers)
        self.reports[name] = accepted
        replayed = response.headers.get("idempotent-replayed")
        self.say.fact(
            f"POST /reports -> {response.status_code}  report {accepted['report_id']}  case {accepted['case_id']}  "
            f"status {accepted['status']}" + (f"  (Idempotent-Replayed: {replayed})" if replayed else "")
        )
        result: dict[str, Any] = accepted
        return result

    def show_decision(self, view: dict[str, Any], excerpt_lines: int = 3) -> None:
        self.say.fact(f"GET /reports/{view['report_id']} -> status {view['status']}, outcome {view['outcome']}")
        self.say.fact(f"rules {', '.join(view['rule_ids']) or '-'}; policy version {view['policy_version']}")
        if view.get("decided_at"):
            self.say.fact(f"decided at {view['decided_at']}")
        if view.get("explanation"):
            self.say.block("statement of reasons", view["explanation"], lines=excerpt_lines)


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def report_body(post_id: str, category: str, relationship: str, **extra: Any) -> dict[str, Any]:
    return {
        "post_id": post_id,
        "category": category,
        "relationship": relationship,
        "attestations": {"accurate_and_complete": True},
        **extra,
    }


# ---------------------------------------------------------------------------------------------- the steps


def check_stack(story: Story) -> None:
    try:
        health = story.stack.health()
    except httpx.TransportError as exc:
        raise DemoFailed(
            f"no local stack at {story.stack.base_url} ({type(exc).__name__}). Start it first with `make run` "
            "in another terminal, then run `make demo` again."
        ) from None
    except (httpx.HTTPStatusError, ValueError) as exc:
        raise DemoFailed(
            f"{story.stack.base_url} did not answer GET /local/health as the local stack does ({exc}): is it the "
            "local stack (`make run`)?"
        ) from None
    not_ready = {name: state for name, state in health.get("functions", {}).items() if state != "ready"}
    if health.get("status") != "ok" or not_ready:
        raise DemoFailed(f"the local stack is not healthy: status {health.get('status')!r}, not ready: {not_ready}")
    story.say.fact(f"{story.stack.base_url} is up; functions ready: {', '.join(health['functions'])}")
    story.say.fact(f"this run's ids end in -{story.cast.suffix}")


def platform_records_context(story: Story) -> None:
    c = story.cast
    accounts: dict[str, dict[str, Any]] = {
        c.author: {"contact_email": f"{c.author}@example.com", "locale": "en"},
        c.reporter: {"locale": "en", "identity_verified": True},  # the platform verified who the reporter is
        c.public_figure: {"public_figure": True, "locale": "en"},
    }
    for account_id, body in accounts.items():
        _, accepted = story.call(story.platform, "PUT", f"/context/accounts/{account_id}", 200, json=body)
        facts = ", ".join(f"{k}={v}" for k, v in body.items())
        story.say.fact(f"PUT /context/accounts/{accepted['id']} -> 200  ({facts})")
    posts: dict[str, dict[str, bool]] = {c.post: {}, c.public_post: {"public_interest": True}, c.waiting_post: {}}
    for post_id, post_signals in posts.items():
        body = {
            "author_id": c.author,
            "text": "look who I saw",
            "media": [{"media_id": f"{post_id}-m1", "media_type": "photo"}],
            "created_at": "2026-11-20T10:00:00Z",
            "signals": post_signals,
        }
        _, accepted = story.call(story.platform, "PUT", f"/context/posts/{post_id}", 200, json=body)
        signals = ", ".join(k for k, v in post_signals.items() if v) or "none"
        story.say.fact(f"PUT /context/posts/{accepted['id']} -> 200  (author {c.author}, 1 photo, signals: {signals})")
    # the platform knows the reporter is the person shown: their claim is confirmed, not only self-declared
    media = {"depicted_account_ids": [c.reporter]}
    _, accepted = story.call(story.platform, "PUT", f"/context/media/{c.post}-m1", 200, json=media)
    story.say.fact(f"PUT /context/media/{accepted['id']} -> 200  (shows {c.reporter}: a confirmed claim, PIM-A2)")


def bystander_reports(story: Story) -> None:
    c = story.cast
    accepted = story.submit("bystander", c.bystander, report_body(c.post, "private_media", "other"))
    view = story.wait_for_report(c.bystander, accepted["report_id"], "awaiting_first_person")
    story.say.fact(
        f"GET /reports/{view['report_id']} -> status {view['status']}; rules {', '.join(view['rule_ids'])}; "
        f"policy version {view['policy_version']}"
    )
    inbox = story.wait_for_notifications(c.bystander, ["awaiting_first_person"])
    told = next(n for n in inbox if n["kind"] == "awaiting_first_person")
    story.say.fact(f"the bystander is told: {told['subject']!r}")
    story.say.fact(f"  | {_cut(told['body'].splitlines()[0], 108)}")
    if [e for e in story.stack.events() if e.get("detail", {}).get("case_id") == accepted["case_id"]]:
        raise DemoFailed(f"case {accepted['case_id']} was enforced before the person depicted reported it")
    story.say.fact("no enforcement yet")


def person_depicted_reports(story: Story) -> None:
    c = story.cast
    body = report_body(
        c.post,
        "private_media",
        "self",
        description="This photo shows me at home; I never agreed to it being posted.",
        attestations=FULL_ATTESTATIONS,
    )
    accepted = story.submit("first_person", c.reporter, body)
    view = story.wait_for_report(c.reporter, accepted["report_id"], "action_taken")
    if view["outcome"] != "remove":
        raise DemoFailed(f"expected the outcome remove, got {view['outcome']!r}")
    story.show_decision(view, excerpt_lines=4)
    bystander = story.reports["bystander"]
    earlier = story.wait_for_report(
        c.bystander, bystander["report_id"], "action_taken", pending=(*NOT_YET_EVALUATED, "awaiting_first_person")
    )
    story.say.fact(f"the bystander's report {earlier['report_id']} is now {earlier['status']} ({earlier['outcome']})")


def staff(story: Story, sub: str, *groups: str) -> httpx.Client:
    key = f"staff:{sub}"
    if key not in story.clients:
        story.clients[key] = story.stack.as_user(sub, groups=groups)
    return story.clients[key]


def moderator_decides(story: Story) -> None:
    c = story.cast
    moderator = staff(story, f"mod-{c.suffix}", "moderators")
    accepted = story.submit(
        "contact", c.bystander, report_body(c.post, "contact_information", "other", description="a phone number")
    )
    story.wait_for_report(c.bystander, accepted["report_id"], "under_review")
    case_id = accepted["case_id"]

    def queued() -> dict[str, Any] | None:
        _, page = story.call(moderator, "GET", "/cases", 200, params={"queue": "review", "limit": 100})
        return next((i for i in page["items"] if i["case_id"] == case_id), None)

    item = story.wait(queued, f"case {case_id} in the review queue")
    story.say.fact(f"GET /cases?queue=review -> case {case_id} at priority {item['review_priority']}")
    _, claimed = story.call(moderator, "POST", f"/cases/{case_id}/claim", 200)
    story.say.fact(
        f"POST /cases/{case_id}/claim -> claimed by {claimed['claimed_by']} until {claimed['claim_expires_at']}"
    )
    decision = {"outcome": "remove", "rule_id": "PIM-12", "note": "number visible", "version": claimed["version"]}
    _, decided = story.call(moderator, "POST", f"/cases/{case_id}/decisions", 200, json=decision)
    d = decided["decision"]
    story.say.fact(
        f"POST /cases/{case_id}/decisions -> {decided['case']['state']}: {d['outcome']}, {d['enforcement']} "
        f"(rules {', '.join(d['rule_ids'])}, automated {d['automated']})"
    )
    story.say.fact("the author already had an active strike, so the ladder suspends the account this time")
    if d["enforcement"] != "permanent_suspension":
        raise DemoFailed(f"expected permanent_suspension on the second violation, got {d['enforcement']}")
    _, stale = story.call(
        staff(story, f"mod2-{c.suffix}", "moderators"),
        "POST",
        f"/cases/{case_id}/decisions",
        409,
        json={**decision, "outcome": "no_violation"},
    )
    story.say.fact(f"a second moderator with the old version -> 409 {stale['code']}: {stale['message']}")
    story.wait_for_events(case_id, ["content.hide", "account.suspend"])
    story.say.fact("content.hide and account.suspend published for the platform")


def author_appeals(story: Story) -> None:
    c = story.cast
    case_id = story.reports["first_person"]["case_id"]
    _, appealed = story.call(
        story.person(c.author), "POST", f"/cases/{case_id}/appeals", 200, json={"reason": "I thought I had permission."}
    )
    story.say.fact(f"the author appeals: POST /cases/{case_id}/appeals -> {appealed['case']['state']}")
    reviewer = staff(story, f"appeals-{c.suffix}", "appeals")
    _, page = story.call(reviewer, "GET", "/cases", 200, params={"queue": "appeals", "limit": 100})
    if case_id not in [i["case_id"] for i in page["items"]]:
        raise DemoFailed(f"case {case_id} is not in the appeals queue")
    _, case = story.call(reviewer, "GET", f"/cases/{case_id}", 200)
    story.say.fact(
        f"an appeal reviewer sees it in GET /cases?queue=appeals; history: "
        f"{', '.join(e['type'] for e in case['events'])}"
    )
    _, upheld = story.call(
        reviewer,
        "POST",
        f"/cases/{case_id}/appeals/decision",
        200,
        json={"result": "uphold", "version": case["case"]["version"]},
    )
    story.say.fact(f"POST /cases/{case_id}/appeals/decision (uphold) -> {upheld['case']['state']}")
    inbox = story.wait_for_notifications(c.author, ["appeal_outcome"])
    told = next(n for n in inbox if n["kind"] == "appeal_outcome")
    story.say.fact(f"the author is told: {told['subject']!r}")
    _, again = story.call(story.person(c.author), "POST", f"/cases/{case_id}/appeals", 409, json={"reason": "again"})
    story.say.fact(f"a second appeal of the same decision -> 409: {again['message']}")


def public_figure_in_the_public_interest(story: Story) -> None:
    c = story.cast
    story.say.fact(f"post {c.public_post} is flagged public_interest; {c.public_figure} is a public figure")
    body = report_body(c.public_post, "private_media", "self", attestations=FULL_ATTESTATIONS)
    accepted = story.submit("public_figure", c.public_figure, body)
    view = story.wait_for_report(c.public_figure, accepted["report_id"], "no_violation")
    story.show_decision(view, excerpt_lines=2)


def out_of_scope_report(story: Story) -> None:
    c = story.cast
    accepted = story.submit("out_of_scope", c.reporter, report_body(c.public_post, "name", "self"))
    view = story.wait_for_report(c.reporter, accepted["report_id"], "no_violation")
    story.say.fact(f"GET /reports/{view['report_id']} -> status {view['status']}, outcome {view['outcome']}")
    story.say.fact(f"rules {', '.join(view['rule_ids'])}; policy version {view['policy_version']}")
    reason = next((line for line in view["explanation"].splitlines() if line.startswith("Rule ")), "")
    story.say.fact(f"reason: {_cut(reason, 140)}")


def duplicate_submission(story: Story) -> None:
    c = story.cast
    original = story.reports["first_person"]
    story.say.fact("the person depicted sends the same report (same post and category) again")
    body = report_body(c.post, "private_media", "self", attestations=FULL_ATTESTATIONS)
    again = story.submit("duplicate", c.reporter, body)
    if again["report_id"] != original["report_id"]:
        raise DemoFailed(f"a duplicate created report {again['report_id']}, expected {original['report_id']}")
    story.say.fact(f"same report id as before: {original['report_id']}")


def invalid_input_and_other_peoples_reports(story: Story) -> None:
    c = story.cast
    bad = {
        "post_id": "not an id!",
        "category": "gossip",
        "relationship": "self",
        "attestations": {"accurate_and_complete": False},
        "phone": "+44 7700 900123",
    }
    _, error = story.call(story.person(c.reporter), "POST", "/reports", 422, json=bad)
    story.say.fact(f"POST /reports with a broken body -> 422 {error['code']}: {error['message']}")
    for e in error.get("errors") or []:
        where = ".".join(str(p) for p in e["loc"])
        story.say.fact(f"  {where:<40} {e['type']:<24} {_cut(e['msg'], 60)}")
    echoed = [value for value in ("not an id!", "gossip", "+44 7700 900123") if value in json.dumps(error)]
    if echoed:
        raise DemoFailed(f"the 422 echoed rejected values: {echoed}")
    story.say.fact("(the rejected values are not echoed)")

    report_id = story.reports["first_person"]["report_id"]
    _, other = story.call(story.person(c.stranger), "GET", f"/reports/{report_id}", 404)
    _, missing = story.call(story.person(c.stranger), "GET", f"/reports/r_no_such_report_{c.suffix}", 404)
    story.say.fact(f"{c.stranger} asks for {report_id} -> 404 {other}")
    story.say.fact(f"... the same body as for a report that doesn't exist: {other == missing}")
    if other != missing:
        raise DemoFailed("another person's report is distinguishable from a missing one")


def notifications(story: Story) -> None:
    c = story.cast
    expected = {
        ("reporter", c.reporter): ["receipt", "outcome", "receipt", "outcome"],  # the removal and the out-of-scope
        ("bystander", c.bystander): ["receipt", "awaiting_first_person", "outcome", "receipt", "outcome"],
        ("author", c.author): ["statement_of_reasons", "appeal_outcome", "statement_of_reasons"],
    }
    for (role, account_id), kinds in expected.items():
        items = story.wait_for_notifications(account_id, kinds)
        story.say.fact(f"GET /me/notifications as the {role} ({account_id}): {len(items)}, newest first")
        for n in items:
            story.say.fact(f"  {role:<9} {n['kind']:<22} {n['subject']!r}  (email: {n['email_status']})")


def enforcement_events(story: Story) -> None:
    removed = story.reports["first_person"]["case_id"]
    events = story.wait_for_events(removed, ["content.hide", "account.lock"])
    for e in events:
        d = e["detail"]
        story.say.fact(
            f"{e['detail-type']:<14} case {d['case_id']}  post {d.get('post_id')}  account {d.get('account_id')}  "
            f"rules {', '.join(d.get('rule_ids', []))}"
        )
    kept = [story.reports[name]["case_id"] for name in ("public_figure", "out_of_scope")]
    if [e for e in story.stack.events() if e.get("detail", {}).get("case_id") in kept]:
        raise DemoFailed(f"an enforcement event was published for a case that was not removed: {kept}")
    story.say.fact("no events for the public-figure and out-of-scope cases")


def transparency_database(story: Story) -> None:
    """The removals' statements of reasons, sent by the submitter (its schedule, run now) to the fake database."""
    reader = staff(story, f"mod-{story.cast.suffix}", "moderators")
    removed = [story.reports[name]["case_id"] for name in ("first_person", "contact")]

    def delivered() -> list[dict[str, Any]] | None:
        story.call(
            story.stack.local, "POST", "/local/schedule/run", 200, params={"function": "StatementSubmitterFunction"}
        )
        views = [story.call(reader, "GET", f"/cases/{case_id}", 200)[1] for case_id in removed]
        statements = [s for view in views for s in view.get("statements") or []]
        story.last_seen = str([s["status"] for s in statements])
        done = len(statements) >= len(removed) and all(s["status"] == "submitted" for s in statements)
        return statements if done else None

    statements: list[dict[str, Any]] = story.wait(delivered, "the removals' statements accepted by the database")
    accepted = {s["puid"]: s for s in story.stack.tdb()["statements"]}
    for statement in statements:
        sent = accepted.get(statement["puid"])
        if sent is None or sent["uuid"] != statement["tdb_uuid"]:
            raise DemoFailed(f"statement {statement['puid']} is not the one the database holds")
        story.say.fact(
            f"{statement['puid']}  201 uuid {statement['tdb_uuid']}  {sent['category']}  "
            f"{', '.join(sent.get('category_specification', []))}  {sent['automated_decision']}"
        )
        story.say.fact(f"  permalink {statement['permalink']}")
    story.say.fact("GET /cases/{id} shows each statement's uuid and permalink to staff; GET /local/tdb lists them all")


def queues(story: Story) -> None:
    dead: dict[str, int] = {}
    for name, q in story.stack.queues().items():
        is_dlq = bool(q.get("source_queue")) or name.endswith("DLQ")
        kind = "DLQ  " if is_dlq else "queue"
        story.say.fact(f"{kind} {name:<18} visible {q['visible']}  in flight {q['in_flight']}  total {q['total']}")
        if is_dlq and q["total"]:
            dead[name] = q["total"]
    if dead:
        raise DemoFailed(
            f"dead-lettered messages: {dead}. Look at the stack's log; `make redrive QUEUE=...` moves them back."
        )
    story.say.fact("all DLQs are empty")


def scheduled_review(story: Story) -> None:
    _, run = story.call(story.stack.local, "POST", "/local/schedule/run", 200)
    result = run.get("result") or {}
    acted = ", ".join(f"{k}: {v}" for k, v in (result.get("acted") or {}).items()) or "nothing due"
    story.say.fact(f"POST /local/schedule/run -> {run['function']} (request {run['request_id']})")
    story.say.fact(
        f"timers read {result.get('timers_read')}, acted on: {acted}, skipped {result.get('skipped')}, "
        f"stopped early {result.get('stopped_early')}"
    )


def time_passes(story: Story) -> None:
    """The 14-day wait for the person depicted, seen happen: the local clock moves, the schedule acts."""
    c = story.cast
    accepted = story.submit("waiting", c.bystander, report_body(c.waiting_post, "private_media", "other"))
    story.wait_for_report(c.bystander, accepted["report_id"], "awaiting_first_person")
    story.say.fact("nobody depicted reports it; the policy waits 14 days for them")
    _, before = story.call(story.stack.local, "GET", "/local/clock", 200)
    _, moved = story.call(story.stack.local, "POST", "/local/clock", 200, json={"advance": "P15D"})
    story.say.fact(f'POST /local/clock {{"advance": "P15D"}} -> now {moved["now"]} (was {before["now"]})')
    for run in moved.get("schedule_runs", []):
        acted = ", ".join(f"{k}: {v}" for k, v in (run.get("result", {}).get("acted") or {}).items()) or "nothing"
        story.say.fact(f"  the scheduled re-review ran: acted on {acted}")
    view = story.wait_for_report(
        c.bystander, accepted["report_id"], "closed", pending=(*NOT_YET_EVALUATED, "awaiting_first_person")
    )
    story.say.fact(f"GET /reports/{view['report_id']} -> status {view['status']}, outcome {view['outcome']}")
    inbox = story.wait_for_notifications(c.bystander, ["case_closed"])
    told = next(n for n in inbox if n["kind"] == "case_closed")
    story.say.fact(f"the bystander is told: {told['subject']!r}")


Step = tuple[str, Callable[[Story], None]]

STEPS: list[Step] = [
    ("The local stack is up", check_stack),
    ("The platform records the accounts and the posts", platform_records_context),
    ("A bystander reports a photo of someone else (private_media, other)", bystander_reports),
    ("The person depicted reports it (self, with attestations)", person_depicted_reports),
    ("The author appeals the removal; an appeal reviewer upholds it", author_appeals),
    ("A bystander reports a phone number: a moderator decides from the review queue", moderator_decides),
    ("A public figure reports a post flagged public_interest", public_figure_in_the_public_interest),
    ("A report outside the policy (category name)", out_of_scope_report),
    ("A duplicate submission", duplicate_submission),
    ("Invalid input, and someone else's report", invalid_input_and_other_peoples_reports),
    ("Notifications", notifications),
    ("Enforcement events on the bus (GET /local/events)", enforcement_events),
    ("Statements of reasons in the EU Transparency Database (fake, GET /local/tdb)", transparency_database),
    ("Queues (GET /local/queues)", queues),
    ("The scheduled re-review, on demand", scheduled_review),
    ("Fifteen days later (the local clock moves): the wait for the person depicted ends", time_passes),
]

STEPS += HASHBANK_STEPS


def run_story(story: Story, steps: Iterable[Step] = STEPS) -> None:
    for title, step in steps:
        story.say.step(title)
        step(story)


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help=f"base URL of the running local stack ({DEFAULT_URL})")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for each asynchronous outcome"
    )
    parser.add_argument("--suffix", default=None, help="the id suffix of this run (default: random)")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    err = err or sys.stderr
    cast = Cast.new(args.suffix)
    say = Narrator(out)
    print(f"consent-guard demo against {args.url}", file=out)
    with LocalStackClient(args.url, timeout=10.0) as stack:
        story = Story(stack=stack, cast=cast, say=say, timeout=args.timeout)
        try:
            run_story(story)
        except DemoFailed as exc:
            print(f"\nDEMO FAILED in step {say.steps}: {exc}", file=err, flush=True)
            return 1
        except httpx.HTTPError as exc:
            print(
                f"\nDEMO FAILED in step {say.steps}: HTTP error talking to {args.url}: {type(exc).__name__}: {exc}. "
                "Is the local stack (`make run`) still running?",
                file=err,
                flush=True,
            )
            return 1
    print(f"\nDone: {say.steps} steps, everything as expected.", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
