"""Mint a token the local stack accepts.

    python -m local.token --sub alice --groups "moderators,admins"
    python -m local.token --sub partner-platform --scope "consent-guard/platform"

Prints only the token, so `TOKEN=$(make -s token SUB=alice)` works.
"""

from __future__ import annotations

import argparse

from local.jwt_local import PLATFORM_SCOPE, TRUSTED_FLAGGER_GROUP, mint_token

__all__ = ["PLATFORM_SCOPE", "TRUSTED_FLAGGER_GROUP", "main", "mint_token"]


def _split(value: str, sep: str) -> list[str]:
    return [part.strip() for part in value.split(sep) if part.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.token", description=__doc__.splitlines()[0])
    parser.add_argument("--sub", required=True, help="subject: a user id, or a platform client id with --scope")
    parser.add_argument("--groups", default="", help="comma-separated Cognito groups, e.g. moderators,admins")
    parser.add_argument(
        "--scope", default="", help=f"space- or comma-separated scopes (a platform access token), e.g. {PLATFORM_SCOPE}"
    )
    parser.add_argument("--ttl", type=int, default=3600, help="seconds until expiry (negative: already expired)")
    parser.add_argument(
        "--trusted-flagger", action="store_true", help=f"add the {TRUSTED_FLAGGER_GROUP} group (DSA Art. 22)"
    )
    args = parser.parse_args(argv)
    groups = _split(args.groups, ",") + ([TRUSTED_FLAGGER_GROUP] if args.trusted_flagger else [])
    scopes = _split(args.scope.replace(",", " "), " ")
    print(mint_token(args.sub, groups=groups, scopes=scopes, ttl=args.ttl))


if __name__ == "__main__":
    main()
