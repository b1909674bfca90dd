"""The policy as Markdown tables, for a policy lead to review: `python -m consent_guard.policy.markdown`.

docs/policy.md is this module's output; a unit test keeps the two equal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

from consent_guard.models.domain import Category
from consent_guard.policy.document import Policy, PolicyIndex, ReviewConditions, RungConditions, load_policy


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _categories(index: PolicyIndex, categories: Iterable[Category]) -> str:
    chosen = set(categories)
    if chosen == index.in_scope_categories:
        return "all in-scope categories"
    return ", ".join(index.categories[c].label for c in index.categories if c in chosen)


def _rung_conditions(index: PolicyIndex, when: RungConditions) -> str:
    parts = []
    if when.categories is not None:
        parts.append(_categories(index, when.categories))
    if when.account_dedicated_to_exposure is not None:
        parts.append(f"account dedicated to exposure: {_yes(when.account_dedicated_to_exposure)}")
    if when.original_poster is not None:
        parts.append(f"original poster: {_yes(when.original_poster)}")
    if when.active_strike is not None:
        parts.append(f"active strike: {_yes(when.active_strike)}")
    return "; ".join(parts) or "any other violation"


def _review_conditions(index: PolicyIndex, when: ReviewConditions) -> str:
    parts = []
    if when.categories is not None:
        parts.append(_categories(index, when.categories))
    if when.live_location is not None:
        parts.append(f"a reporter's hint of live location (within their bound): {_yes(when.live_location)}")
    if when.live_location_confirmed is not None:
        parts.append(f"live location confirmed by the platform: {_yes(when.live_location_confirmed)}")
    if when.trusted_flagger is not None:
        parts.append(f"a report from a trusted flagger: {_yes(when.trusted_flagger)}")
    return "; ".join(parts) or "any other review"


def render_policy_markdown(policy: Policy) -> str:
    index = policy.index
    out = [
        f"# Policy: {policy.title}",
        "",
        f"Version `{policy.version}`. Generated from `shared/consent_guard/policy/private_information.json` by "
        "`python -m consent_guard.policy.markdown`; edit the JSON, not this file.",
        "",
        "A case is checked in this order, and the first rule that matches decides: category in scope; post facts "
        "available; who reported; their confirmations; media present; weighing factors, then exceptions (where "
        "weighed); what the claim can bear (automation rules); violation. A removal then walks the enforcement "
        "ladder, capped by what the claim can bear; a suspension always goes to a person.",
        "",
        "## Categories",
        "",
    ]
    out += _table(
        [
            "Category",
            "Label",
            "In scope",
            "Kind",
            "Confirmations required",
            "Media required",
            "Exceptions weighed",
            "Banked",
        ],
        (
            (
                f"`{c.id}`",
                f"{c.label}: {c.description}",
                _yes(c.in_scope),
                c.kind.value,
                _yes(c.attestations_required),
                _yes(c.requires_media),
                _yes(c.exceptions_apply),
                _yes(c.banked),
            )
            for c in policy.categories
        ),
    )
    out += ["## Rules", ""]
    out += _table(
        ["Rule", "Title", "Applies to", "Outcome", "Explanation"],
        (
            (r.id, r.title, _categories(index, r.categories), r.outcome or "qualifies other rules", index.texts[r.id])
            for r in policy.rules
        ),
    )
    out += ["## Exceptions", ""]
    out += _table(
        ["Exception", "Title", "Outcome when it applies", "Overridden by harassment", "Explanation"],
        (
            (e.id, e.title, e.outcome.value, _yes(e.overridden_by_harassment), index.texts[e.id])
            for e in policy.exceptions
        ),
    )
    weighed = [c for c in policy.categories if c.exceptions_apply]
    out += [
        "## Weighing factors",
        "",
        f"Any factor present sends a {', '.join(c.label.lower() for c in weighed)} case to a moderator "
        "(never removed or kept automatically).",
        "",
    ]
    out += _table(
        ["Factor", "Title", "Explanation"], ((w.id, w.title, index.texts[w.id]) for w in policy.weighing_factors)
    )
    out += ["## Enforcement ladder", "", "Walked only for a removal; the first rung that matches decides.", ""]
    out += _table(
        ["Rung", "Title", "When", "Enforcement", "Strike", "Explanation"],
        (
            (
                r.id,
                r.title,
                _rung_conditions(index, r.when),
                r.enforcement.value,
                _yes(r.issues_strike),
                index.texts[r.id],
            )
            for r in policy.enforcement_ladder
        ),
    )
    out += [
        "## Automation proportionate to the claim",
        "",
        "A reporter's relationship and confirmations are self-declared until the platform confirms them (account "
        "`identity_verified` and `authorized_representatives`, media `depicted_account_ids`). The strongest "
        "first-person report of a case decides how far an automated decision may go; a ceiling caps the ladder, "
        "an outcome sends the case to a person instead.",
        "",
    ]
    out += _table(
        ["Rule", "Title", "Claim", "Automated at most", "Explanation"],
        (
            (
                a.id,
                a.title,
                f"`{a.key.value}`",
                a.max_enforcement.value
                if a.max_enforcement is not None
                else f"{a.outcome.value if a.outcome else ''}{', post hidden meanwhile' if a.hide_content else ''}",
                index.texts[a.id],
            )
            for a in policy.automation
        ),
    )
    out += ["## Review priorities", "", "For cases a moderator must review; the first tier that matches applies.", ""]
    out += _table(
        ["Tier", "When", "Priority (0 = first)", "SLA (hours)"],
        ((t.title, _review_conditions(index, t.when), t.priority, t.sla_hours) for t in policy.review_priorities),
    )
    hm = policy.hash_matching
    out += [
        "## Hash banks",
        "",
        "consent-guard never receives media, only hashes the platform (or a person's device) computes: MD5 and "
        "SHA-256 of the file, and PDQ (256 bits, with a quality of 0-100) of photos. A post whose media matches an "
        "active entry opens a case by itself (source: automated detection), decided by rules "
        + ", ".join(r.id for r in policy.rules if r.trigger.value.startswith("bank_match"))
        + ". No automatic action is taken without re-reading the entry's status at that moment.",
        "",
    ]
    out += _table(["Bank", "Title", "Explanation"], ((f"`{b.id}`", b.title, index.bank_texts[b.id]) for b in hm.banks))
    out += _table(
        ["Setting", "Value"],
        (
            ("Automatic removal (removed bank)", f"exact hash, or PDQ distance <= {hm.pdq_strict_distance} of 256"),
            ("Review (removed bank)", f"PDQ distance {hm.pdq_strict_distance + 1} to {hm.pdq_review_distance}"),
            ("Review (protected bank)", f"exact hash, or PDQ distance <= {hm.pdq_review_distance}"),
            ("PDQ used only from quality", f"{hm.pdq_min_quality} (both the upload's hash and the entry's)"),
            ("Protected media per person", f"{hm.protected_max_per_person} at a time"),
            (
                "Protected media registrations",
                f"{hm.protected_quota.max_registrations} per {hm.protected_quota.window_seconds} seconds",
            ),
        ),
    )
    out += ["## Timings and limits", ""]
    quota = policy.reporter_quota
    misuse = policy.reporter_misuse
    out += _table(
        ["Setting", "Value"],
        (
            ("Strike stays active", f"{policy.strike_expiry_days} days"),
            ("Wait for the person concerned to report (private media)", f"{policy.first_person_wait_days} days"),
            ("Wait for the post's facts", f"{policy.needs_context_limit_hours} hours"),
            ("Appeal window", f"{policy.appeal_window_days} days"),
            ("Retention after the appeal window", f"{policy.retention_days_after_appeal_window} days"),
            ("Reporter quota", f"{quota.max_reports} reports per {quota.window_seconds} seconds"),
            (
                "Manifestly unfounded reports (EU DSA Art. 23)",
                f"warning after {misuse.warn_after}, reporting suspended for {misuse.suspension_days} days after "
                f"{misuse.suspend_after}, counted over {misuse.window_days} days",
            ),
            ("Moderator claim on a case", f"{policy.claim_minutes} minutes"),
            (
                "Good track record (PIM-A3)",
                f"{policy.reporter_standing.good_after_upheld} first-person reports upheld by a person, none unfounded",
            ),
            (
                "Low standing (PIM-A6)",
                f"{policy.reporter_standing.low_after_unfounded} manifestly unfounded report(s), or a warning, "
                f"within {misuse.window_days} days",
            ),
            (
                "Reporter priority hints (live location)",
                f"at most {policy.priority_hints.max_cases_per_reporter} cases per reporter per "
                f"{policy.priority_hints.window_hours} hours; never above platform-confirmed signals",
            ),
        ),
    )
    out += ["## What people are told", ""]
    out += _table(
        ["Outcome", "Notice", "Final"],
        ((n.outcome.value, index.outcome_texts[n.outcome], _yes(n.final)) for n in policy.notices.outcomes),
    )
    out += _table(["Enforcement", "Notice"], ((e.value, t) for e, t in index.enforcement_texts.items()))
    out += _table(
        ["Notice", "Text"],
        (
            ("Strike", index.strike_text),
            ("Automated decision", index.automated_text),
            ("Decision by a person", index.human_text),
            ("Appeal (final outcomes)", index.appeal_text),
            ("Interim (other outcomes)", index.interim_text),
            ("Hidden while a person reviews", index.hidden_pending_review_text),
        ),
    )
    out += _transparency(policy)
    return "\n".join(out).rstrip("\n") + "\n"


def _transparency(policy: Policy) -> list[str]:
    """How a restricting decision is reported to the EU Transparency Database (docs/transparency-database.md)."""
    mapping = policy.transparency_database
    index = policy.index
    out = [
        "## EU Transparency Database (DSA Art. 24(5))",
        "",
        f"Every decision that restricts content or an account is sent as a statement of reasons, with `puid` "
        f"`cg-<case id>-<event seq>`. Ground: `{mapping.ground.value}`, `incompatible_content_ground` "
        f'"{mapping.ground_title} (version {policy.version}): <rule ids>", the rules\' text as the explanation, and '
        "the terms' URL from configuration as `decision_ground_reference_url`. `decision_facts` is the policy's text "
        "for the category, rules, measure and who decided; never report descriptions, notes, post text or ids of "
        "people.",
        "",
    ]
    out += _table(
        ["Category", "category", "category_specification", "category_specification_other", "category_addition"],
        (
            (
                index.categories[c].label,
                f"`{m.category.value}`",
                ", ".join(f"`{k.value}`" for k in m.keywords),
                m.specification_other or "",
                ", ".join(f"`{a.value}`" for a in m.category_addition),
            )
            for c, m in mapping.categories.items()
        ),
    )

    def days(value: int | None) -> str:
        return f"{value} days" if value else "indefinite"

    out += _table(
        ["Enforcement", "decision_visibility", "decision_provision", "decision_account", "end dates"],
        (
            (
                e.value,
                ", ".join(f"`{v.value}`" for v in m.visibility),
                f"`{m.provision.value}`" if m.provision else "",
                f"`{m.account.value}`" if m.account else "",
                "; ".join(
                    f"{name}: {days(getattr(m, f'{name}_days'))}"
                    for name in ("visibility", "provision", "account")
                    if getattr(m, name)
                ),
            )
            for e, m in mapping.enforcement.items()
        ),
    )
    out += _table(
        ["Input", "Field", "Value"],
        (
            ("A notice (Art. 16)", "source_type", f"`{mapping.sources.notice.value}`"),
            ("A trusted flagger's notice (Art. 22)", "source_type", f"`{mapping.sources.trusted_flagger.value}`"),
            ("Our own detection (hash match)", "source_type", f"`{mapping.sources.own_detection.value}`"),
            ("Decided by the policy engine", "automated_decision", f"`{mapping.automation.system.value}`"),
            (
                "Decided by a person (also on an automatically routed case)",
                "automated_decision",
                f"`{mapping.automation.person.value}`: {mapping.automation.person_reason}",
            ),
            ("Detected by a notice / by our own detection", "automated_detection", "`No` / `Yes`"),
            *(
                (f"Media: {media.value}", "content_type", f"`{content.value}`")
                for media, content in mapping.media.items()
            ),
            (
                f"Categories of kind {', '.join(mapping.text_for_kinds)}, or a post without media",
                "content_type",
                "`CONTENT_TYPE_TEXT`",
            ),
        ),
    )
    return out


if __name__ == "__main__":
    sys.stdout.write(render_policy_markdown(load_policy()))
