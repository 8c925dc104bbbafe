"""Serving the API's OpenAPI document, and a page that shows it.

``GET /api/openapi.json`` is the document Litestar generates from app/web/api/openapi.py;
``GET /api/docs`` renders it as one HTML page (templates/pages/api_docs.html): every operation
with its parameters, request body, answers and example JSON, then every schema. The page is
made on the server from the document, so it needs no script and no CDN.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.response import Template
from markupsafe import Markup, escape

from app.web.api.openapi import openapi_document
from app.web.state import AppState

_METHODS = ("get", "post", "put", "delete", "patch", "head", "options", "trace")
_REF = "#/components/schemas/"
_NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


@functools.lru_cache(maxsize=8)
def _document_bytes(site_root: str, site_name: str) -> bytes:
    # The handlers run in a thread: building the document the first time takes most of a
    # second of CPU, which must not stall the event loop.
    return msgspec.json.encode(openapi_document(site_root, site_name))


@get("/api/openapi.json", name="api-openapi", include_in_schema=False, sync_to_thread=True)
def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The OpenAPI 3.1 document (CORS open, so tools in a browser can load it)."""
    settings = AppState.of(request).settings
    return Response(
        _document_bytes(settings.site_root, settings.site_name),
        media_type="application/json",
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": _NEVER_CACHE},
    )


# --- the page ----------------------------------------------------------------------------------


def inline(text: str | None) -> Markup:
    """The little Markdown the document's texts use: `code`, **bold**, paragraphs."""
    if not text:
        return Markup("")
    html = str(escape(text))
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
    paragraphs = [part.replace("\n", " ") for part in html.split("\n\n") if part.strip()]
    # Safe: the text was escaped above; only the tags added here are markup.
    if len(paragraphs) > 1:
        return Markup("".join(f"<p>{part}</p>" for part in paragraphs))  # noqa: S704
    return Markup(paragraphs[0] if paragraphs else "")  # noqa: S704


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.removeprefix(_REF) if isinstance(ref, str) else None


def type_label(schema: dict[str, Any] | None) -> Markup:
    """A schema as a short type: ``Check``, ``array of Ping``, ``string (uuid) | null``."""
    if not schema:
        return Markup("any")
    if (name := _ref_name(schema)) is not None:
        return Markup('<a href="#schema-{0}">{0}</a>').format(name)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return Markup(" | ").join(type_label(option) for option in schema[key])
    if "enum" in schema:
        return Markup(" | ").join(
            Markup("<code>{}</code>").format(json.dumps(value)) for value in schema["enum"]
        )
    kind = schema.get("type")
    if isinstance(kind, list):
        return Markup(" | ").join(type_label({**schema, "type": one}) for one in kind)
    if kind == "array":
        return Markup("array of ") + type_label(schema.get("items"))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return Markup("object of ") + type_label(schema["additionalProperties"])
    label = str(kind or "any")
    if "format" in schema:
        label += f" ({schema['format']})"
    return Markup("{}").format(label)


def constraints(schema: dict[str, Any]) -> str:
    """Bounds worth a reader's eye: length, range, pattern."""
    found = []
    for option in [schema, *schema.get("oneOf", [])]:
        if "maxLength" in option:
            found.append(f"≤ {option['maxLength']} chars")
        if "minimum" in option or "maximum" in option:
            found.append(f"{option.get('minimum', '…')} … {option.get('maximum', '…')}")
        if "pattern" in option:
            found.append(f"pattern {option['pattern']}")
    return ", ".join(found)


def example(schema: dict[str, Any] | None, components: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for a schema: its examples, default or enum first, else by type."""
    if not schema or depth > 6:
        return None
    if (name := _ref_name(schema)) is not None:
        return example(components.get(name), components, depth + 1)
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("oneOf", "anyOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return example(options[0], components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            prop: example(sub, components, depth + 1)
            for prop, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [example(schema.get("items"), components, depth + 1)]
    formats = {
        "uuid": "5ae8a4cf-1f76-4d4b-9b5e-3c35e0f0e6b1",
        "date-time": "2026-01-15T12:00:00+00:00",
    }
    if schema.get("format") in formats:
        return formats[schema["format"]]
    return {"string": "", "integer": 0, "number": 0, "boolean": False}.get(str(kind))


@dataclass
class Field:
    name: str
    type: Markup
    required: bool
    description: Markup
    constraints: str


def fields_of(schema: dict[str, Any] | None, components: dict[str, Any]) -> list[Field]:
    if schema is None:
        return []
    if (name := _ref_name(schema)) is not None:
        schema = components.get(name, {})
    required = set(schema.get("required", []))
    return [
        Field(
            name=prop,
            type=type_label(sub),
            required=prop in required,
            description=inline(sub.get("description")),
            constraints=constraints(sub),
        )
        for prop, sub in schema.get("properties", {}).items()
    ]


@dataclass
class Body:
    media_type: str
    type: Markup
    example: str | None


@dataclass
class Answer:
    status: str
    description: Markup
    bodies: list[Body]


@dataclass
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: Markup
    security: list[str]
    parameters: list[Field]
    request: Body | None
    request_required: bool
    request_fields: list[Field]
    answers: list[Answer]


@dataclass
class Section:
    name: str
    description: Markup
    operations: list[Operation] = field(default_factory=list)


def _body(media_type: str, content: dict[str, Any], components: dict[str, Any]) -> Body:
    schema = content.get("schema")
    sample = None
    if media_type.endswith("json") and schema is not None:
        sample = json.dumps(example(schema, components), indent=2, ensure_ascii=False)
    return Body(media_type=media_type, type=type_label(schema), example=sample)


def _key_label(scheme: dict[str, Any], description: str) -> str:
    """``X-Api-Key (read-write)``: where the key goes, and which key the text asks for."""
    where = scheme.get("name") or f"Authorization: {scheme.get('scheme', '').title()}"
    if "Read-write key" in description:
        return f"{where} (read-write)"
    if "Read-only or read-write key" in description:
        return f"{where} (read-only or read-write)"
    return str(where)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, Operation]]:
    components = document.get("components", {}).get("schemas", {})
    schemes = document.get("components", {}).get("securitySchemes", {})
    for path, item in document["paths"].items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            request = operation.get("requestBody")
            request_body = None
            request_fields: list[Field] = []
            if request:
                media_type, content = next(iter(request["content"].items()))
                request_body = _body(media_type, content, components)
                request_fields = fields_of(content.get("schema"), components)
            parameters = [
                Field(
                    name=f"{param['name']} ({param['in']})",
                    type=type_label(param.get("schema")),
                    required=bool(param.get("required")),
                    description=inline(param.get("description")),
                    constraints=constraints(param.get("schema", {})),
                )
                for param in operation.get("parameters", [])
            ]
            answers = [
                Answer(
                    status=status,
                    description=inline(answer.get("description")),
                    bodies=[
                        _body(media_type, content, components)
                        for media_type, content in (answer.get("content") or {}).items()
                    ],
                )
                for status, answer in sorted(operation.get("responses", {}).items())
            ]
            security = [
                _key_label(schemes.get(name, {}), operation.get("description", ""))
                for requirement in operation.get("security", [])
                for name in requirement
            ]
            yield (
                (operation.get("tags") or ["Other"])[0],
                Operation(
                    method=method.upper(),
                    path=path,
                    anchor=operation.get("operationId", f"{method}-{path}"),
                    summary=operation.get("summary", ""),
                    description=inline(operation.get("description")),
                    security=security,
                    parameters=parameters,
                    request=request_body,
                    request_required=bool(request and request.get("required")),
                    request_fields=request_fields,
                    answers=answers,
                ),
            )


def page_context(document: dict[str, Any]) -> dict[str, Any]:
    sections = {
        tag["name"]: Section(tag["name"], inline(tag.get("description")))
        for tag in document.get("tags", [])
    }
    for tag, operation in _operations(document):
        sections.setdefault(tag, Section(tag, Markup(""))).operations.append(operation)
    components = document.get("components", {})
    schemas = [
        {
            "name": name,
            "description": inline(schema.get("description")),
            "fields": fields_of(schema, {}),
        }
        for name, schema in components.get("schemas", {}).items()
    ]
    security = [
        {
            "name": name,
            "kind": scheme.get("type"),
            "where": scheme.get("name") or scheme.get("scheme"),
            "description": inline(scheme.get("description")),
        }
        for name, scheme in components.get("securitySchemes", {}).items()
    ]
    return {
        "title": document["info"]["title"],
        "version": document["info"]["version"],
        "openapi": document["openapi"],
        "description": inline(document["info"].get("description")),
        "server": document["servers"][0]["url"],
        "sections": [section for section in sections.values() if section.operations],
        "schemas": schemas,
        "security": security,
    }


@get("/api/docs", name="api-docs", include_in_schema=False, sync_to_thread=True)
def api_docs(request: Request[Any, Any, Any]) -> Template:
    settings = AppState.of(request).settings
    document = openapi_document(settings.site_root, settings.site_name)
    return Template("pages/api_docs.html", context=page_context(document))


route_handlers = [openapi_json, api_docs]
