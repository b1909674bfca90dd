"""Static files of the local stack: the moderator console (console/), Swagger UI for /docs from a pinned package,
and the console's development sign-in (POST /local/token). All local-only: deployed, CloudFront serves the console
from S3 with the same security headers (template.yaml) and Cognito's hosted UI signs people in.

Files are served only from a fixed root, by an allow-list of extensions with their content types; a path that
leaves the root (`..`, encoded or not, symlinks) or names a directory or a dotfile is a 404.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

from local.jwt_local import TRUSTED_FLAGGER_GROUP, mint_token
from local.template import ROOT

CONSOLE_ROOT = ROOT / "console"

# The console's policy, also sent by CloudFront (template.yaml ConsoleSecurityHeaders): scripts and styles only
# from this origin, no inline script or style, no framing, API calls only to this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
SIGN_IN_GROUPS = frozenset({"moderators", "appeals", "admins", TRUSTED_FLAGGER_GROUP})
SUBJECT = re.compile(r"^[A-Za-z0-9_\-:.]{1,128}$")
TOKEN_TTL_SECONDS = 8 * 3600  # a working day

DOCS_HTML = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>consent-guard API (local)</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>
"""
DOCS_INIT = b"""window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: false});
"""
SWAGGER_FILES = frozenset({"swagger-ui.css", "swagger-ui-bundle.js"})


def swagger_root() -> Path | None:
    """The pinned Swagger UI distribution (PyPI swagger-ui-bundle-v2, requirements-dev.txt), or None."""
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped]
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def resolve(root: Path, relative: str) -> Path | None:
    """The file `relative` names under `root`, or None when it is not a plain file inside it."""
    relative = unquote(relative)
    if "\x00" in relative or "\\" in relative:
        return None
    parts = [p for p in relative.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    if not parts:
        parts = ["index.html"]
    base = root.resolve()
    candidate = base.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError, OSError):
        return None
    if not real.is_relative_to(base) or not real.is_file():
        return None
    if real.suffix not in CONTENT_TYPES:
        return None
    return real


def headers_for(path_suffix: str, cache: str = "no-cache") -> list[tuple[str, str]]:
    return [("content-type", CONTENT_TYPES[path_suffix]), ("cache-control", cache), *SECURITY_HEADERS]


def console_file(relative: str) -> tuple[int, bytes, list[tuple[str, str]]]:
    found = resolve(CONSOLE_ROOT, relative)
    if found is None:
        return not_found()
    return 200, found.read_bytes(), headers_for(found.suffix)


def docs_page() -> tuple[int, bytes, list[tuple[str, str]]]:
    return 200, DOCS_HTML, headers_for(".html")


def docs_asset(name: str) -> tuple[int, bytes, list[tuple[str, str]]]:
    if name == "init.js":
        return 200, DOCS_INIT, headers_for(".js")
    root = swagger_root()
    if name not in SWAGGER_FILES or root is None:
        return not_found()
    found = resolve(root, name)
    if found is None:
        return not_found()
    return 200, found.read_bytes(), headers_for(found.suffix, cache="public, max-age=86400")


def not_found() -> tuple[int, bytes, list[tuple[str, str]]]:
    return 404, b'{"message":"Not Found"}', [("content-type", "application/json"), *SECURITY_HEADERS]


def local_token(body: bytes, content_type: str | None) -> tuple[int, bytes, list[tuple[str, str]]]:
    """The console's development sign-in: a local ID token for a subject and groups (never deployed).

    JSON only: a page on another origin cannot send that without a CORS preflight, which this route never grants.
    """
    if (content_type or "").split(";", 1)[0].strip().lower() != "application/json":
        return _json(415, {"message": "send application/json"})
    try:
        request = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _json(400, {"message": "the body must be JSON"})
    errors = []
    if not isinstance(request, dict):
        return _json(422, {"message": "the body must be a JSON object"})
    sub = request.get("sub")
    groups = request.get("groups", [])
    if not isinstance(sub, str) or not SUBJECT.fullmatch(sub):
        errors.append({"loc": ["sub"], "msg": "1-128 letters, digits or _-:."})
    if not isinstance(groups, list) or not all(isinstance(g, str) and g in SIGN_IN_GROUPS for g in groups):
        errors.append({"loc": ["groups"], "msg": f"a list of: {', '.join(sorted(SIGN_IN_GROUPS))}"})
    unknown = set(request) - {"sub", "groups"}
    if unknown:
        errors.append({"loc": sorted(unknown), "msg": "unknown field"})
    if errors:
        return _json(422, {"message": "invalid sign-in", "errors": errors})
    token = mint_token(str(sub), groups=list(dict.fromkeys(groups)), ttl=TOKEN_TTL_SECONDS)
    return _json(200, {"token": token, "expires_in": TOKEN_TTL_SECONDS, "sub": sub, "groups": groups})


def _json(status: int, payload: object) -> tuple[int, bytes, list[tuple[str, str]]]:
    return status, json.dumps(payload).encode(), [("content-type", "application/json"), ("cache-control", "no-store")]
