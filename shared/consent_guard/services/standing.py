"""Reporters who misuse reporting (DSA Art. 23): each manifestly unfounded report a moderator marks is counted on
the reporter's standing; after `warn_after` a warning, after `suspend_after` (and a prior warning) reports from this
person are not processed for `suspension_days`. Case by case, within a window. Counted as an effect of the decision
(services/delivery.py), a page of reporters at a time; the notice a count owes is stored with the standing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from consent_guard.errors import VersionConflict
from consent_guard.ids import notification_id_for
from consent_guard.models import items as it
from consent_guard.models.domain import NotificationKind
from consent_guard.models.effects import Outbox
from consent_guard.models.messages import NotificationRequest
from consent_guard.observability import MetricUnit, logger, metrics
from consent_guard.policy import Policy
from consent_guard.repository import CaseRepository
from consent_guard.services.effects import notification_effect
from consent_guard.services.stats_effects import standing_effect


def count_unfounded(
    repository: CaseRepository, policy: Policy, reporter_id: str, case_id: str, now: datetime
) -> Outbox | None:
    """Count one manifestly unfounded report (once per case). Returns the outbox stored with the standing when the
    count owes a notice (a warning or a suspension), else None."""
    misuse = policy.reporter_misuse
    for _ in range(3):
        stored = repository.reporter_standing(reporter_id)
        version = int(stored["version"]) if stored else None
        since = now - timedelta(days=misuse.window_days)
        unfounded = [t for t in json.loads(stored["unfounded"]) if datetime.fromisoformat(t) >= since] if stored else []
        if stored and case_id in json.loads(stored.get("cases", "[]")):
            return None  # this case was counted already
        unfounded.append(it.iso(now))
        history = json.loads(stored["history"]) if stored else []
        warned_at = stored.get("warned_at") if stored else None
        suspended_until = stored.get("suspended_until") if stored else None
        kind: NotificationKind | None = None
        if (
            len(unfounded) >= misuse.suspend_after
            and warned_at
            and (not suspended_until or suspended_until < it.iso(now))
        ):
            suspended_until = it.iso(now + timedelta(days=misuse.suspension_days))
            kind = NotificationKind.REPORTING_SUSPENDED
        elif len(unfounded) >= misuse.warn_after and not warned_at:
            warned_at = it.iso(now)
            kind = NotificationKind.REPORTING_WARNING
        history.append({"at": it.iso(now), "case_id": case_id, "event": kind.value if kind else "unfounded"})
        new_version = (version or 0) + 1
        standing: dict[str, Any] = {
            "type": "reporter_standing",
            "reporter_id": reporter_id,
            "version": new_version,
            "unfounded": json.dumps(unfounded),
            "cases": json.dumps([*json.loads(stored.get("cases", "[]"))[-50:], case_id] if stored else [case_id]),
            "history": json.dumps(history[-100:]),
        }
        for kept in ("upheld", "upheld_cases"):  # the track record lives on the same item
            if stored and kept in stored:
                standing[kept] = stored[kept]
        if warned_at:
            standing["warned_at"] = warned_at
        if suspended_until:
            standing["suspended_until"] = suspended_until
        outbox: Outbox | None = None
        if kind is not None:
            event_id = f"standing:{reporter_id}:{new_version}"
            notice = NotificationRequest(
                notification_id=notification_id_for(event_id, reporter_id, kind),
                kind=kind,
                recipient_id=reporter_id,
                case_id=case_id,
                event_id=event_id,
                facts={
                    "unfounded_count": len(unfounded),
                    "window_days": misuse.window_days,
                    "suspend_after": misuse.suspend_after,
                    "suspended_until": suspended_until,
                    "suspension_days": misuse.suspension_days,
                },
            )
            # the Art. 23 measure counted in the statistics, with its notice (services/stats_effects.py)
            outbox = Outbox(
                outbox_id=event_id, effects=(notification_effect(notice), standing_effect(event_id, kind.value, now))
            )
        try:
            repository.save_reporter_standing(standing, version, outbox, now)
        except VersionConflict:
            continue
        logger.info("unfounded report counted", reporter_count=len(unfounded), action=kind.value if kind else None)
        if kind is not None:
            metrics.add_metric(name=f"Reporter_{kind.value}", unit=MetricUnit.Count, value=1)
        return outbox
    raise VersionConflict("the reporter's standing kept changing")
