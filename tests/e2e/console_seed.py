"""Cases for the console's browser tests and screenshots, made over the real API of a running local stack."""

from __future__ import annotations

import secrets
from typing import Any

from local.client import LocalStackClient, wait_until

XSS = "<img src=x onerror=alert(1)>"


def review_case(
    stack: LocalStackClient,
    category: str = "financial_information",
    description: str = "My bank details are in the screenshot. " + XSS,
    media: int = 2,
    text: str = "here are her card numbers <b>lol</b>",
    reporters: int = 1,
    trusted_flagger: bool = False,
) -> dict[str, Any]:
    """A post with media, reported by bystanders: a case waiting in the review queue. Returns its ids."""
    suffix = secrets.token_hex(4)
    author, post = f"author-{suffix}", f"post-{suffix}"
    platform = stack.as_platform()
    platform.put(f"/context/accounts/{author}", json={"locale": "en"}).raise_for_status()
    platform.put(
        f"/context/posts/{post}",
        json={
            "author_id": author,
            "text": text,
            "media": [{"media_id": f"{post}-m{i + 1}", "media_type": "photo"} for i in range(media)],
            "created_at": "2026-11-20T10:00:00Z",
        },
    ).raise_for_status()
    case_id = ""
    for n in range(reporters):
        reporter = stack.as_user(f"reporter-{suffix}-{n}", trusted_flagger=trusted_flagger and n == 0)
        accepted = reporter.post(
            "/reports",
            json={
                "post_id": post,
                "category": category,
                "relationship": "other",
                "description": description,
                "attestations": {"accurate_and_complete": True},
            },
        )
        accepted.raise_for_status()
        case_id = accepted.json()["case_id"]
    moderator = stack.as_user(f"seed-{suffix}", groups=["moderators"])

    def queued() -> bool:
        response = moderator.get(f"/cases/{case_id}")
        return response.status_code == 200 and response.json()["case"]["state"] == "in_review"

    wait_until(queued, timeout=20, message=f"case {case_id} in review")
    return {"case_id": case_id, "post_id": post, "author_id": author, "category": category}


def decide(stack: LocalStackClient, case_id: str, moderator: str, groups: tuple[str, ...] = ("moderators",)) -> Any:
    """A moderator claims and removes the case over the API (the winner of a race, or the decision appealed)."""
    client = stack.as_user(moderator, groups=list(groups))
    claimed = client.post(f"/cases/{case_id}/claim")
    claimed.raise_for_status()
    category = client.get(f"/cases/{case_id}").json()["case"]["category"]
    rules = client.get("/policy/rules", params={"category": category}).json()
    rule = rules["outcomes"]["remove"][0]["rule_id"]
    decided = client.post(
        f"/cases/{case_id}/decisions", json={"outcome": "remove", "rule_id": rule, "version": claimed.json()["version"]}
    )
    decided.raise_for_status()
    return decided.json()
