"""One OpenAPI document for the whole HTTP API, merged from every HTTP function's route table (consent_guard.http)."""

from __future__ import annotations

import importlib
import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from local.lambdas import LocalFunction

log = logging.getLogger("local_stack.openapi")

TITLE = "consent-guard"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def api_version() -> str:
    try:
        module = importlib.import_module("consent_guard")
    except ImportError:
        return "0.1.0"
    return str(getattr(module, "__version__", "0.1.0"))


def _template_path(path: str) -> str:
    """Routes are written `/reports/<report_id>`; OpenAPI and the template use `{report_id}`."""
    return re.sub(r"<(\w+)>", r"{\1}", path)


def merged_openapi(functions: Iterable[LocalFunction], routes: list[dict[str, Any]]) -> dict[str, Any]:
    """Union of paths and components; bearer JWT security, with each scoped route's scopes from the template."""
    version = api_version()
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": version,
            "description": "Served by the local stack (local); merged from each function's resolver.",
        },
        "servers": [{"url": "/", "description": "local stack"}],
        "paths": {},
        "components": {},
    }
    for function in functions:
        resolver = getattr(function.module, "app", None)
        if function.module is None or not hasattr(resolver, "get_openapi_json_schema"):
            continue
        try:
            part = json.loads(resolver.get_openapi_json_schema(title=TITLE, version=version))  # type: ignore[union-attr]
        except Exception as exc:  # one function's broken schema should not hide the others
            log.error("openapi schema failed function=%s error=%s", function.spec.logical_id, type(exc).__name__)
            continue
        doc["openapi"] = part.get("openapi", doc["openapi"])
        for path, operations in part.get("paths", {}).items():
            doc["paths"].setdefault(_template_path(path), {}).update(operations)
        for section, entries in part.get("components", {}).items():
            doc["components"].setdefault(section, {}).update(entries)

    doc["components"].setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Cognito JWT (locally: `make token`). Platform routes need the consent-guard/platform scope.",
    }
    doc["security"] = [{"bearerAuth": []}]

    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m in METHODS}
    deployed = {(r["method"], r["path"]) for r in routes}
    for route in routes:
        operation = doc["paths"].get(route["path"], {}).get(route["method"].lower())
        if operation is None:
            continue
        if not route["authorizer"]:
            operation["security"] = []
        elif route["scopes"]:
            operation["security"] = [{"bearerAuth": list(route["scopes"])}]
    for method, path in sorted(documented - deployed):
        log.warning("documented but not a route in template.yaml (API Gateway answers 404) route=%s %s", method, path)
    return doc
