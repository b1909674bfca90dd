"""Local stand-in for the Cognito-issued JWTs: an HS256 development key, minting, and API Gateway's checks.

Deployed, the HTTP API's JWT authorizer checks Cognito's RS256 tokens. Locally the same checks run against tokens
signed with a random key kept in `.local/jwt-dev-key` (gitignored), shared by the runner, `make token` and the tests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from local.devsecret import dev_secret
from local.template import ROOT

KEY_FILE = ROOT / ".local" / "jwt-dev-key"
ISSUER = "consent-guard-local"
AUDIENCE = "consent-guard-local"
ALGORITHM = "HS256"
PLATFORM_SCOPE = "consent-guard/platform"
TRUSTED_FLAGGER_GROUP = "trusted_flaggers"  # consent_guard.auth.Group.TRUSTED_FLAGGERS (DSA Art. 22)


def signing_key(path: Path = KEY_FILE) -> str:
    """The development key, created on first use (atomically: concurrent first runs agree on one key)."""
    return dev_secret(path, nbytes=64)


def mint_token(
    sub: str,
    groups: Iterable[str] = (),
    scopes: Iterable[str] = (),
    ttl: int = 3600,
    **extra_claims: Any,
) -> str:
    """A signed token shaped like Cognito's.

    With scopes: a client-credentials access token (`token_use: access`, `client_id`, space-separated `scope`).
    Without: a user's ID token (`token_use: id`, `cognito:groups` as a list, `cognito:username`).
    Both carry `aud` so the local authorizer can check it; a negative ttl mints an already expired token.
    """
    now = int(time.time())
    scope_list = [s for s in scopes if s]
    claims: dict[str, Any] = {
        "sub": sub,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now if ttl > 0 else now + ttl - 60,
        "auth_time": now if ttl > 0 else now + ttl - 60,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
    }
    if scope_list:
        claims.update(token_use="access", client_id=sub, scope=" ".join(scope_list), version=2)
    else:
        claims.update({"token_use": "id", "cognito:username": sub})
    group_list = [g for g in groups if g]
    if group_list:
        claims["cognito:groups"] = group_list
    claims.update(extra_claims)
    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM)


class TokenRejected(Exception):
    """The token would not pass API Gateway's JWT authorizer (401)."""


@dataclass(frozen=True)
class VerifiedToken:
    claims: dict[str, Any]

    @property
    def scopes(self) -> list[str]:
        raw = self.claims.get("scope", self.claims.get("scp", ""))
        if isinstance(raw, list):
            return [str(s) for s in raw]
        return str(raw).split()


def bearer_token(authorization: str | None) -> str | None:
    """The token from an Authorization header; like API Gateway, the `Bearer ` prefix is optional."""
    if not authorization:
        return None
    value = authorization.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def verify_token(token: str, audiences: Iterable[str] = (AUDIENCE,), issuer: str = ISSUER) -> VerifiedToken:
    """Signature, issuer, expiry, not-before, issued-at and audience, as the HTTP API JWT authorizer checks them.

    Audience: `aud` must match one of the configured audiences; a token without `aud` (a Cognito access token)
    is checked by its `client_id` instead.
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key(),
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"require": ["exp", "iss"], "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        raise TokenRejected(type(exc).__name__) from exc
    allowed = set(audiences)
    aud = claims.get("aud")
    if aud is not None:
        presented = {aud} if isinstance(aud, str) else {str(a) for a in aud}
        if not presented & allowed:
            raise TokenRejected("InvalidAudience")
    elif claims.get("client_id") not in allowed:
        raise TokenRejected("InvalidAudience")
    return VerifiedToken(claims)


def _claim_text(value: Any) -> str:
    """One claim as API Gateway (HTTP API, payload 2.0) hands it to Lambda: always a string, arrays as `[a b]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_claim_text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_claim_text(v)}" for k, v in sorted(value.items())) + "]"
    if value is None:
        return ""
    return str(value)


def gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    return {name: _claim_text(value) for name, value in claims.items()}
