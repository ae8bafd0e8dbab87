"""The human-readable API reference, rendered on the server from the OpenAPI document.

Swagger UI and Redoc would load their scripts from a CDN, which an agency network may block and
which would send every reader's visit to a third party; a plain page needs neither.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.generators import SchemaGenerator

_METHODS = ("get", "post", "put", "patch", "delete")


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations grouped by their first tag, in path order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = (op.get("tags") or ["api"])[0]
            groups.setdefault(tag, []).append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "required": p.get("required", False),
                            "type": p.get("schema", {}).get("type", ""),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _ref_name(op.get("requestBody", {})),
                    "responses": [
                        {"code": code, "body": _ref_name(resp)}
                        for code, resp in sorted(op.get("responses", {}).items())
                    ],
                    "anchor": op.get("operationId", ""),
                }
            )
    return [{"tag": tag, "operations": ops} for tag, ops in groups.items()]


def _ref_name(part: dict[str, Any]) -> str:
    schema = part.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1]


def _properties(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Each component with its properties, for the reference at the end of the page."""
    components = []
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(component.get("required", []))
        props = []
        for prop, spec in component.get("properties", {}).items():
            kind = spec.get("type") or spec.get("$ref", "").rsplit("/", 1)[-1]
            if "allOf" in spec or "oneOf" in spec:
                refs = [s.get("$ref", "") for s in spec.get("allOf", []) + spec.get("oneOf", [])]
                kind = " | ".join(r.rsplit("/", 1)[-1] for r in refs if r)
            props.append(
                {
                    "name": prop,
                    "type": kind,
                    "required": prop in required,
                    "read_only": spec.get("readOnly", False),
                    "nullable": spec.get("nullable", False),
                    "description": spec.get("description", ""),
                }
            )
        enum = component.get("enum")
        components.append(
            {
                "name": name,
                "properties": props,
                "enum": enum,
                "description": component.get("description", ""),
            }
        )
    return components


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    """The API reference as one HTML page."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return render(
        request,
        "api/docs.html",
        {
            "info": schema.get("info", {}),
            "groups": _operations(schema),
            "components": _properties(schema),
        },
    )
