"""OpenAPI documentation helpers: the error responses each route can give, with examples."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from fusiondesk.service.api.schemas import ErrorOut
from fusiondesk.service.settings import Settings

_ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "Malformed body: JSON or multipart that does not parse, or a text field that is not UTF-8",
        "invalid_multipart",
        "Field 'text' is not valid utf-8 text.",
    ),
    401: ("No API key, or an unknown one", "unauthorized", "Unknown API key."),
    403: (
        "The API key lacks the route's scope",
        "forbidden",
        "This API key lacks the 'admin' scope.",
    ),
    404: (
        "No such conversation, or not yours (dead letters: not kept by the inline executor)",
        "not_found",
        "No conversation 'c1'.",
    ),
    409: (
        "The conversation's handoff state forbids the change",
        "handoff_conflict",
        "Cannot claim: 'alice' has this conversation.",
    ),
    413: (
        "Body, part or media over a size limit",
        "body_too_large",
        "Request body exceeds 26214400 bytes.",
    ),
    415: (
        "Unsupported content or media type",
        "unsupported_content_type",
        "Content type 'application/xml' is not accepted.",
    ),
    422: (
        "Invalid request",
        "invalid_request",
        "parts: List should have at least 1 item after validation",
    ),
    429: (
        "Over a rate limit (see Retry-After)",
        "rate_limited",
        "Rate limit of 10 requests per minute per key reached.",
    ),
    503: ("Models still loading (see Retry-After)", "not_ready", "Models are still loading."),
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with its description and an example body."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, code, message = _ERRORS[status]
        documented[status] = {
            "model": ErrorOut,
            "description": description,
            "content": {
                "application/json": {"example": {"error": {"code": code, "message": message}}}
            },
        }
    return documented


AUTH_ERRORS = (401, 403, 429)
"""What any route behind an API key can answer."""


SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key (`fusiondesk keys new`); required when auth is on.",
    },
    "ConversationToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A conversation's token, returned by the call that created it; the key "
        "that made the conversation, or an admin key, may do without it.",
    },
}
CONVERSATION_PATHS = ("/v1/conversations/{conversation_id}", "/v1/messages")


def complete_openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """FastAPI's document plus what it cannot know: schemas inlined through ``openapi_extra``
    moved to the components (so every ``$ref`` resolves), the security schemes and which
    routes need them under these settings, and the configured part limit as ``maxItems``."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        _hoist_definitions(spec, schemas)
        _limit_parts(spec, settings.limits.max_parts)
        spec["components"]["securitySchemes"] = SECURITY_SCHEMES
        for path, operations in spec["paths"].items():
            for operation in operations.values():
                # Every route behind an API key documents its 401 (AUTH_ERRORS).
                if "401" in operation.get("responses", {}):
                    operation["security"] = _security(path, settings.auth.required)
        app.openapi_schema = spec
    return app.openapi_schema


def _security(path: str, auth_required: bool) -> list[dict[str, list[str]]]:
    key: list[dict[str, list[str]]] = [{"ApiKey": []}] if auth_required else [{}]
    if any(path.startswith(prefix) for prefix in CONVERSATION_PATHS):
        with_token: dict[str, list[str]] = {"ConversationToken": []}
        if auth_required:
            with_token["ApiKey"] = []
        return [*key, with_token]
    return key


def _hoist_definitions(node: Any, schemas: dict[str, Any]) -> None:
    """Pydantic's ``$defs`` (in bodies given as JSON schemas) into the components."""
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + reference.removeprefix("#/$defs/")
        for value in list(node.values()):
            _hoist_definitions(value, schemas)
    elif isinstance(node, list):
        for item in node:
            _hoist_definitions(item, schemas)


def _limit_parts(node: Any, max_parts: int) -> None:
    if isinstance(node, dict):
        parts = node.get("properties", {}).get("parts") if "properties" in node else None
        if isinstance(parts, dict) and parts.get("type") == "array":
            parts["maxItems"] = max_parts
        for value in node.values():
            _limit_parts(value, max_parts)
    elif isinstance(node, list):
        for item in node:
            _limit_parts(item, max_parts)
