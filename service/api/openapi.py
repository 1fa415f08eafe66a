"""OpenAPI documentation helpers: the error responses each route can give, with examples."""

from __future__ import annotations

from typing import Any

from fusiondesk.service.api.schemas import ErrorOut

_ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "Malformed body: broken multipart, a text field that is not UTF-8, or a Host or form "
        "post origin that is not allowed",
        "invalid_multipart",
        "Field 'text' is not valid utf-8 text.",
    ),
    401: ("No API key, or an unknown one", "unauthorized", "Unknown API key."),
    403: (
        "The API key lacks the route's scope",
        "forbidden",
        "This API key lacks the 'admin' scope.",
    ),
    404: ("No such conversation, or not yours", "not_found", "No conversation 'c1'."),
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
