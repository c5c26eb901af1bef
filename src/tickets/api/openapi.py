"""The OpenAPI description, made exact in one place.

Litestar generates the description from the handlers; `describe` then corrects what Litestar
cannot know or gets wrong for this API, from the routes themselves:

- errors: every operation lists the problem+json responses it can send, derived from the route
  (a token is needed under /api/v1; writes can be refused by role, conflict or domain rules; path
  parameters can name nothing; bodies can be too large; uploaded files can be of a refused type;
  `If-Match` can be stale; a `Range` can lie outside the file) plus what the handler declares in
  `raises=[...]`;
- security: one bearer scheme, required by every /api/v1 operation but the portal's, which needs
  a contact's session cookie (and `X-CSRF-Token` on writes);
- request bodies: their schemas are msgspec's own (the library that validates them), so
  `additionalProperties: false` and constraints on optional fields are stated; a multipart upload
  states its file parts and how many it takes;
- file downloads (operations that read `Range`): any media type, the headers they send, and their
  206 (`Range`) and 304 (`If-None-Match`) answers;
- parameters and headers: no `null` alternatives (a header or query value is absent, never null);
  responses state the headers the server sends (`ETag`, `X-Event-Position`, `X-Projection-Position`,
  `WWW-Authenticate`); 204 responses have no content.

The docs UI (Swagger UI) is served from the assets of an installed package, so `/schema` works
without a network.
"""

from __future__ import annotations

import copy
import importlib.resources
import re
import threading
from http import HTTPStatus
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.enums import RequestEncodingType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute
from litestar.serialization import encode_json
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from tickets.api.problems import PROBLEM_JSON, ProblemDetails

API_PREFIX = "/api/v1/"
SCHEMA_PATH = "/schema"
ASSETS_PATH = f"{SCHEMA_PATH}/assets"
SECURITY_SCHEME = "bearerAuth"
# The portal's JSON twin is for signed-in contacts: their session cookie, not a member's token.
PORTAL_PREFIX = "/api/v1/portal/"
PORTAL_SECURITY_SCHEME = "portalSession"
COMPONENTS = "#/components/schemas/"
EVENT_STREAM = "text/event-stream"

# Why each problem status is sent; the status phrase is the response's name.
PROBLEM_REASONS: dict[int, str] = {
    400: "The request is malformed: invalid JSON, a body, query or header that fails validation "
    "(`errors` lists the offending fields), or an unknown query parameter",
    401: "No API token, or one that is not valid (see `WWW-Authenticate`); under /api/v1/portal, no valid "
    "contact session",
    403: "The caller's role does not allow this (in the portal: a write without the session's CSRF token)",
    404: "Nothing with this id or number exists in the caller's org",
    409: "The change conflicts with the current state (a closed ticket, a duplicate name, "
    "a resource still in use, or a concurrent change)",
    412: "`If-Match` names a version the ticket has moved on from; read it again",
    413: "The request body, a file in it, or its number of files or attachments is larger than the server accepts",
    415: "A file is of a kind the server does not keep: a program, a script, HTML or SVG",
    416: "The `Range` starts past the end of the file (`Content-Range` gives its size)",
    422: "Well-formed, but a value is not acceptable (an unknown member, team, tag or attachment, "
    "a bad colour, an empty file)",
    503: "The read models are not configured on this server",
}

# A stored ticket's version, sent with every response that carries the ticket.
VERSIONED_SCHEMAS = {"TicketOut": "ETag"}


def _swagger_assets() -> Path:
    # The `swagger-ui-py` wheel ships Swagger UI 5 (which renders OpenAPI 3.1) in `swagger_ui/static`.
    return Path(str(importlib.resources.files("swagger_ui") / "static"))


class ApiDescription:
    """The served OpenAPI document: Litestar's, corrected by `describe`; built once, on first use."""

    def __init__(self) -> None:
        self._document: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def document(self, app: Litestar) -> dict[str, Any]:
        with self._lock:
            if self._document is None:
                self._document = describe(app, app.openapi_schema.to_schema())
            return self._document


class OpenAPIJson(JsonRenderPlugin):
    """`/schema/openapi.json`: the corrected description."""

    def __init__(self, description: ApiDescription) -> None:
        super().__init__()
        self.description = description

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return encode_json(self.description.document(request.app))


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI at `/schema` and `/schema/swagger`, its scripts and styles served by this server."""

    def __init__(self, description: ApiDescription) -> None:
        super().__init__(
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            path=["/", "/swagger"],
            favicon=f'<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">',
        )
        self.description = description

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        # Keep the token across page reloads, so "Authorize" need not be repeated.
        page = super().render(request, self.description.document(request.app))
        return page.replace(
            b"deepLinking: true,", b"deepLinking: true,\n                  persistAuthorization: true,"
        )


def openapi_config() -> OpenAPIConfig:
    description = ApiDescription()
    return OpenAPIConfig(
        title="pfai tickets",
        version="1.0.0",
        description=(
            "Event-sourced customer-support tickets. Every /api/v1 operation needs "
            "`Authorization: Bearer <token>`. Errors are RFC 9457 `application/problem+json`."
        ),
        path=SCHEMA_PATH,
        render_plugins=[OfflineSwagger(description), OpenAPIJson(description)],
        components=Components(
            security_schemes={
                SECURITY_SCHEME: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API token from `pfai admin create-org` / `create-user` or `POST /api/v1/users`",
                ),
                PORTAL_SECURITY_SCHEME: SecurityScheme(
                    type="apiKey",
                    name="pfai_portal",
                    security_scheme_in="cookie",
                    description="A contact's portal session, set by opening a sign-in link "
                    "(`POST /api/v1/contacts/{id}/portal-links`); writes also send `X-CSRF-Token` "
                    "(from `GET /api/v1/portal/session`)",
                ),
            }
        ),
    )


def docs_assets_router() -> ControllerRouterHandler:
    """The Swagger UI scripts and styles, from the installed `swagger-ui-py` package."""
    return create_static_files_router(
        path=ASSETS_PATH, directories=[_swagger_assets()], include_in_schema=False, name="docs-assets"
    )


# ---------------------------------------------------------------------------- describe


def describe(app: Litestar, generated: dict[str, Any]) -> dict[str, Any]:
    """The generated description, corrected for this API (see the module docstring)."""
    document = copy.deepcopy(generated)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    _add_problem_schema(schemas)
    handlers = _handlers_by_operation(app)
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            handler = handlers.get((path, method.upper()))
            if handler is None or not isinstance(operation, dict):
                continue
            _describe_operation(path, method.upper(), operation, handler, schemas)
    _rename_generic_schemas(document)
    for schema in schemas.values():
        if schema.get("required") == []:
            del schema["required"]
    return document


def _handlers_by_operation(app: Litestar) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    found[(route.path_format, method)] = handler
    return found


def problem_statuses(path: str, method: str, handler: Any, headers: set[str]) -> list[int]:
    """The problem+json statuses an operation can answer, from what the route is and declares.

    `headers`: the (lower-case) names of the request headers the operation reads.
    """
    statuses = {400}  # malformed input and unknown query parameters, on every operation
    if path.startswith(API_PREFIX):
        statuses.add(401)
        if method != "GET":
            # Roles are checked by the services on every write; writes meet rules and other writers.
            statuses |= {403, 409, 422}
    if "{" in path:
        statuses.add(404)
    if "data" in handler.parsed_fn_signature.parameters:
        statuses.add(413)
        if _is_multipart(handler):
            statuses.add(415)
    if "if-match" in headers:
        statuses.add(412)
    if "range" in headers:
        statuses.add(416)
    statuses |= {exception.status_code for exception in handler.raises or ()}
    return sorted(statuses)


def _describe_operation(
    path: str, method: str, operation: dict[str, Any], handler: Any, schemas: dict[str, Any]
) -> None:
    if path.startswith(PORTAL_PREFIX):
        operation["security"] = [{PORTAL_SECURITY_SCHEME: []}]
    elif path.startswith(API_PREFIX):
        operation["security"] = [{SECURITY_SCHEME: []}]
    for parameter in operation.get("parameters", []):
        _describe_parameter(parameter)
        _declared_bounds(parameter, handler)
    if "data" in handler.parsed_fn_signature.parameters and "requestBody" in operation:
        if _is_multipart(handler):
            _describe_upload(operation["requestBody"], handler, schemas)
        else:
            _describe_request_body(operation["requestBody"], handler, schemas)

    responses: dict[str, Any] = operation.setdefault("responses", {})
    success = str(handler.status_code)
    for code in [c for c in responses if c != success]:
        del responses[code]  # Litestar's `{status_code, detail, extra}` errors: not what is sent
    ok = responses[success]
    ok["headers"] = _success_headers(method, operation, ok, schemas)
    if handler.status_code == HTTPStatus.NO_CONTENT:
        ok.pop("content", None)
    if EVENT_STREAM in ok.get("content", {}):
        ok["description"] = (
            "Server-Sent Events: `id: <position>`, `event: <type>`, `data: <a feed event as JSON>`"
        )
        ok["content"] = {EVENT_STREAM: {"schema": {"type": "string"}}}
    headers = {p["name"].lower() for p in operation.get("parameters", []) if p.get("in") == "header"}
    if "range" in headers:
        _describe_download(responses, ok, headers)
    for status in problem_statuses(path, method, handler, headers):
        responses[str(status)] = _problem_response(status)


def _describe_parameter(parameter: dict[str, Any]) -> None:
    """A parameter is sent or not; its value is never null."""
    schema = parameter.get("schema")
    if isinstance(schema, dict):
        parameter["schema"] = _without_null(schema)
    if parameter.get("in") != "query":  # these two apply to query parameters only
        parameter.pop("allowEmptyValue", None)
        parameter.pop("allowReserved", None)


def _declared_bounds(parameter: dict[str, Any], handler: Any) -> None:
    """The bounds a parameter declares (`ge`, `le`), which Litestar leaves out of an optional one's
    schema (an optional `X-Min-Position` lost its minimum 0)."""
    schema = parameter.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "integer":
        return
    for definition in _signature_parameters(handler):
        kwarg = definition.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and parameter.get("name") in (
            kwarg.name,
            kwarg.header,
            kwarg.query,
        ):
            if kwarg.ge is not None:
                schema.setdefault("minimum", kwarg.ge)
            if kwarg.le is not None:
                schema.setdefault("maximum", kwarg.le)


def _signature_parameters(handler: Any) -> list[Any]:
    """The handler's parameters and those of its dependencies (where a header like X-Min-Position is read)."""
    found = list(handler.parsed_fn_signature.parameters.values())
    for provider in (handler.dependencies or {}).values():
        signature = getattr(provider, "parsed_fn_signature", None)
        if signature is not None:
            found.extend(signature.parameters.values())
    return found


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    for key in ("oneOf", "anyOf"):
        options = schema.get(key)
        if isinstance(options, list):
            kept = [o for o in options if o != {"type": "null"}]
            if len(kept) == 1:
                rest = {k: v for k, v in schema.items() if k != key}
                return {**kept[0], **rest}
            schema[key] = kept
    if isinstance(schema.get("type"), list):
        schema["type"] = [t for t in schema["type"] if t != "null"]
    return schema


def _describe_request_body(body: dict[str, Any], handler: Any, schemas: dict[str, Any]) -> None:
    """The body's schema as msgspec states it: exactly what the decoder accepts."""
    body_type = handler.parsed_fn_signature.parameters["data"].annotation
    (reference,), components = msgspec.json.schema_components([body_type], ref_template=COMPONENTS + "{name}")
    for name, schema in components.items():
        if name not in schemas or "additionalProperties" in schema:
            schemas[name] = schema
    body["required"] = True
    body["content"] = {"application/json": {"schema": reference}}


def _is_multipart(handler: Any) -> bool:
    data = handler.parsed_fn_signature.parameters.get("data")
    kwarg = getattr(data, "kwarg_definition", None) if data is not None else None
    return getattr(kwarg, "media_type", None) == RequestEncodingType.MULTI_PART


def _describe_upload(body: dict[str, Any], handler: Any, schemas: dict[str, Any]) -> None:
    """A multipart body as its Struct decodes it: no other fields, and each file field takes 1 to
    `max_files` parts (the handler's `opt`, from the server's settings)."""
    body["required"] = True
    for media in body.get("content", {}).values():
        name = str(media.get("schema", {}).get("$ref", "")).removeprefix(COMPONENTS)
        form = schemas.get(name, media.get("schema", {}))
        form["additionalProperties"] = False
        for field in form.get("properties", {}).values():
            if field.get("type") == "array" and field.get("items", {}).get("format") == "binary":
                field["minItems"] = 1
                if "max_files" in handler.opt:
                    field["maxItems"] = handler.opt["max_files"]


# What a file download answers, beside its bytes.
FILE_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "The SHA-256 of the bytes, quoted: a strong validator"},
    "Content-Disposition": {"description": "`attachment`, with the file's name (`filename*` when not ASCII)"},
    "Content-Length": {"description": "Bytes in this answer", "schema": {"type": "integer", "minimum": 0}},
    "Accept-Ranges": {"description": "`bytes`: one range per request is served"},
    "X-Content-Type-Options": {"description": "`nosniff`: the type is the stored one"},
    "Cache-Control": {"description": "`private, no-cache`: revalidate with `If-None-Match`"},
    "Content-Security-Policy": {"description": "Nothing runs or loads if a browser opens the file"},
}
FILE_CONTENT = {"*/*": {"schema": {"type": "string", "format": "binary"}}}


def _header(description: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "schema": {"type": "string"}, **description}


def _describe_download(responses: dict[str, Any], ok: dict[str, Any], headers: set[str]) -> None:
    """A stored file: its bytes in its own media type, whole (200) or a range of them (206); 304 when
    the client's copy is current."""
    ok["description"] = "The file's bytes, in its stored media type"
    ok["content"] = FILE_CONTENT
    ok["headers"] = {**ok["headers"], **{name: _header(h) for name, h in FILE_HEADERS.items()}}
    content_range = {"description": "The bytes sent, `bytes first-last/size`"}
    responses["206"] = {
        "description": "Partial Content: the one byte range `Range` asked for",
        "content": FILE_CONTENT,
        "headers": {**ok["headers"], "Content-Range": _header(content_range)},
    }
    if "if-none-match" in headers:
        responses["304"] = {
            "description": "Not Modified: `If-None-Match` names this file's ETag",
            "headers": {name: _header(FILE_HEADERS[name]) for name in ("ETag", "Cache-Control")},
        }


def _success_headers(
    method: str, operation: dict[str, Any], response: dict[str, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    headers: dict[str, Any] = dict(response.get("headers") or {})
    if method != "GET" and operation.get("security"):
        headers["X-Event-Position"] = {
            "description": "The log position of the last event this write recorded; absent when it changed nothing",
            "schema": {"type": "integer", "minimum": 1},
        }
    if any(p.get("name") == "X-Min-Position" for p in operation.get("parameters", [])):
        headers["X-Projection-Position"] = {
            "description": "The log position the read models had reached for this answer",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
    schema = (response.get("content") or {}).get("application/json", {}).get("schema", {})
    name = str(schema.get("$ref", "")).removeprefix(COMPONENTS)
    if name in VERSIONED_SCHEMAS:
        headers[VERSIONED_SCHEMAS[name]] = {
            "description": 'The ticket\'s version, quoted (`"7"`); send it back as `If-Match`',
            "required": True,
            "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
        }
    return headers


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": f"{HTTPStatus(status).phrase}: {PROBLEM_REASONS.get(status, HTTPStatus(status).description)}",
        "content": {PROBLEM_JSON: {"schema": {"$ref": COMPONENTS + "ProblemDetails"}}},
    }
    if status == HTTPStatus.UNAUTHORIZED:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": 'The scheme to use: `Bearer realm="pfai"`, or `Bearer error="invalid_token"` '
                '(`Cookie realm="pfai-portal"` under /api/v1/portal)',
                "required": True,
                "schema": {"type": "string"},
            }
        }
    return response


def _add_problem_schema(schemas: dict[str, Any]) -> None:
    (_,), components = msgspec.json.schema_components([ProblemDetails], ref_template=COMPONENTS + "{name}")
    schemas.update(components)


_QUALIFIED = re.compile(r"^(\w+)_(?:[\w.]+\.)?(\w+)_$")


def _rename_generic_schemas(document: dict[str, Any]) -> None:
    """`Page_tickets.api.schemas.MessageOut_` -> `MessageOutPage`: names a client generator can use."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    renames = {
        name: f"{match.group(2)}{match.group(1)}"
        for name in schemas
        if (match := _QUALIFIED.match(name)) and "." in name
    }
    if not renames:
        return
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new
    refs = {COMPONENTS + old: COMPONENTS + new for old, new in renames.items()}

    def rewrite(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref in refs:
                node["$ref"] = refs[ref]
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for value in node:
                rewrite(value)

    rewrite(document)
