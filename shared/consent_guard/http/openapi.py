"""The OpenAPI 3.1 document of one HTTP function, generated from its route table (consent_guard.http.router) with
pydantic's JSON schema: the request models in validation mode, the response models in serialization mode, every
model and enum once under components/schemas. Served locally at /openapi.json (local/openapi.py merges the
functions' documents) and fuzzed by the scorecard; never imported by a function's cold start.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from consent_guard.http.router import Route

REF_TEMPLATE = "#/components/schemas/{model}"


def _operation_id(route: Route) -> str:
    return re.sub(r"\W", "_", f"{route.func.__name__}{route.path}") + "_" + route.method.lower()


def openapi_path(path: str) -> str:
    """`/reports/<report_id>` -> `/reports/{report_id}`."""
    return re.sub(r"<(\w+)>", r"{\1}", path)


def _responses(route: Route, validation: Mapping[str, Any] | None) -> Mapping[int, Any]:
    """The route's documented responses, with the 422 of a request that fails validation wherever one can."""
    validates = bool(route.signature.params) or route.signature.body is not None
    if validation is None or not validates or 422 in route.responses:
        return route.responses
    return dict(sorted({**route.responses, 422: validation}.items()))


def openapi_document(
    routes: list[Route], *, title: str, version: str, validation: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    # every schema of the document, generated together so that each model is defined once
    inputs: list[tuple[Any, JsonSchemaMode, Any]] = []
    for index, route in enumerate(routes):
        signature = route.signature
        for param in signature.params:
            inputs.append(((index, "param", param.name), "validation", param.adapter.core_schema))
        if signature.body is not None:
            body = signature.body.model
            inputs.append(((index, "body"), "validation", TypeAdapter(body).core_schema))
        for status, response in _responses(route, validation).items():
            for media, spec in (response.get("content") or {}).items():
                model = spec.get("model")
                if isinstance(model, type) and issubclass(model, BaseModel):
                    key = (index, "response", status, media)
                    inputs.append((key, "serialization", TypeAdapter(model).core_schema))
    generator = GenerateJsonSchema(ref_template=REF_TEMPLATE)
    schemas, definitions = generator.generate_definitions(inputs=inputs)

    paths: dict[str, dict[str, Any]] = {}
    for index, route in enumerate(routes):
        signature = route.signature
        operation: dict[str, Any] = {}
        if route.summary:
            operation["summary"] = route.summary
        operation["operationId"] = _operation_id(route)
        if route.tags:
            operation["tags"] = list(route.tags)
        parameters = []
        for param in signature.params:
            schema = dict(schemas[((index, "param", param.name), "validation")])
            if param.required:
                schema.pop("default", None)
            entry: dict[str, Any] = {"name": param.key, "in": param.location, "required": param.required}
            if param.description:
                entry["description"] = param.description
            entry["schema"] = schema
            parameters.append(entry)
        if parameters:
            operation["parameters"] = parameters
        if signature.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schemas[((index, "body"), "validation")]}},
            }
        responses: dict[str, Any] = {}
        for status, response in _responses(route, validation).items():
            documented = copy.deepcopy({k: v for k, v in response.items() if k != "content"})
            if response.get("content"):
                content: dict[str, Any] = {}
                for media, spec in response["content"].items():
                    if "model" in spec:
                        content[media] = {"schema": schemas[((index, "response", status, media), "serialization")]}
                    else:
                        content[media] = copy.deepcopy(spec)
                documented["content"] = content
            responses[str(status)] = documented
        operation["responses"] = responses
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": dict(sorted(definitions.items()))},
    }
