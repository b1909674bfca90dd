"""How the local stack serves the console and /docs: content types, a strict CSP on every file, no way out of the
console's folder, Swagger UI from our own origin, and the development sign-in's validation."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from local.jwt_local import verify_token
from tests.e2e.conftest import LocalStackHandle

ROOT = Path(__file__).resolve().parents[2]


def _get(stack: LocalStackHandle, path: str) -> httpx.Response:
    # raw path, as sent: no client-side normalisation of dot segments
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        request = client.build_request("GET", stack.url)
        request.url = request.url.copy_with(raw_path=path.encode())
        return client.send(request)


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/console/", "text/html; charset=utf-8"),
        ("/console/index.html", "text/html; charset=utf-8"),
        ("/console/js/app.js", "text/javascript; charset=utf-8"),
        ("/console/styles.css", "text/css; charset=utf-8"),
        ("/console/config.json", "application/json"),
        ("/docs", "text/html; charset=utf-8"),
        ("/docs/assets/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("/docs/assets/swagger-ui.css", "text/css; charset=utf-8"),
        ("/docs/assets/init.js", "text/javascript; charset=utf-8"),
    ],
)
def test_files_are_served_with_their_type_and_a_strict_csp(
    local_stack: LocalStackHandle, path: str, content_type: str
) -> None:
    response = _get(local_stack, path)
    assert response.status_code == 200, path
    assert response.headers["content-type"] == content_type
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/console/../template.yaml",
        "/console/%2e%2e/template.yaml",
        "/console/%2E%2E%2Ftemplate.yaml",
        "/console/..%2f..%2fetc%2fpasswd",
        "/console/js/../../local/static.py",
        "/console//etc/passwd",
        "/console/js",
        "/console/js/",
        "/console/.hidden",
        "/console/%00index.html",
        "/console/..\\template.yaml",
        "/docs/assets/index.html",
        "/docs/assets/..%2f..%2f__init__.py",
    ],
)
def test_nothing_outside_the_allowed_files_is_served(local_stack: LocalStackHandle, path: str) -> None:
    response = _get(local_stack, path)
    assert response.status_code == 404, path


def test_console_pages_hold_no_inline_script_and_no_external_origin() -> None:
    for page in [*(ROOT / "console").rglob("*.html")]:
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script in {page}"
        assert not re.search(r"\son[a-z]+=", html), f"inline handler in {page}"
        assert "http://" not in html and "https://" not in html
    for script in (ROOT / "console").rglob("*.js"):
        code = script.read_text()
        assert "innerHTML" not in code and "outerHTML" not in code and "insertAdjacentHTML" not in code, script
        assert "localStorage." not in code and "document.cookie" not in code, script
        assert "eval(" not in code, script


def test_docs_load_swagger_ui_from_our_own_origin(local_stack: LocalStackHandle) -> None:
    html = _get(local_stack, "/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/docs/assets/") or s == "data:," for s in sources), sources
    assert "<script>" not in html
    bundle = _get(local_stack, "/docs/assets/swagger-ui-bundle.js")
    assert len(bundle.content) > 500_000


def test_the_development_sign_in_mints_a_local_token_and_checks_its_input(local_stack: LocalStackHandle) -> None:
    with httpx.Client(base_url=local_stack.url, timeout=10) as client:
        ok = client.post("/local/token", json={"sub": "mod-1", "groups": ["moderators", "appeals"]})
        assert ok.status_code == 200, ok.text
        claims = verify_token(ok.json()["token"]).claims
        assert claims["sub"] == "mod-1" and claims["cognito:groups"] == ["moderators", "appeals"]
        assert ok.headers["cache-control"] == "no-store"
        for body in (
            {"sub": "a b"},
            {"sub": "x", "groups": ["root"]},
            {"sub": "x", "groups": "moderators"},
            {"sub": "x", "scope": "consent-guard/platform"},
            [],
        ):
            assert client.post("/local/token", json=body).status_code == 422, body
        assert (
            client.post("/local/token", content=b"{", headers={"content-type": "application/json"}).status_code == 400
        )
        # a form or text/plain post from another site's page is refused (no CORS preflight is ever granted)
        assert (
            client.post("/local/token", content=b'{"sub":"x"}', headers={"content-type": "text/plain"}).status_code
            == 415
        )
        assert client.get("/local/token").status_code == 404
