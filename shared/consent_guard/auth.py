"""Who is calling, read only from the claims the API Gateway JWT authorizer put in the event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from consent_guard.errors import Forbidden

PLATFORM_SCOPE = "consent-guard/platform"


class Group(StrEnum):
    MODERATORS = "moderators"
    APPEALS = "appeals"
    ADMINS = "admins"
    TRUSTED_FLAGGERS = "trusted_flaggers"


def _as_set(value: Any) -> frozenset[str]:
    """API Gateway (HTTP API, payload 2.0) renders an array claim as the string "[a b]" and scopes come
    space-separated: split on spaces only. Nothing is stripped or split on commas or quotes, so a name like
    `readers,moderators` or `"moderators"` stays one name and matches no role."""
    if value is None:
        return frozenset()
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(v) for v in value if str(v))
    text = str(value)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return frozenset(text.split(" ")) - {""}


KNOWN_GROUPS = frozenset(g.value for g in Group)


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    groups: frozenset[str]
    scopes: frozenset[str]

    @property
    def is_platform(self) -> bool:
        return PLATFORM_SCOPE in self.scopes

    @property
    def is_trusted_flagger(self) -> bool:
        return Group.TRUSTED_FLAGGERS in self.groups

    def in_group(self, group: Group) -> bool:
        return group.value in self.groups

    def require_group(self, *groups: Group) -> None:
        if not any(self.in_group(g) for g in groups):
            raise Forbidden("this action needs the role: " + " or ".join(g.value for g in groups))

    def require_platform(self) -> None:
        if not self.is_platform:
            raise Forbidden("this route is for the platform's services")

    def require_person(self) -> None:
        if self.is_platform:
            raise Forbidden("this route is for people, not for the platform's services")


def principal_from_event(event: Mapping[str, Any]) -> Principal:
    """Build the caller from requestContext.authorizer.jwt; no claims at all is a forbidden call."""
    jwt = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}
    claims = jwt.get("claims") or {}
    subject = str(claims.get("sub") or "")
    if not subject:
        raise Forbidden("no authenticated subject")
    scopes = _as_set(jwt.get("scopes")) | _as_set(claims.get("scope"))
    # unknown group names are ignored: only the roles the code knows can be held
    groups = _as_set(claims.get("cognito:groups")) & KNOWN_GROUPS
    return Principal(subject=subject, groups=groups, scopes=scopes)
