"""ASGI middleware. Plain classes: ``__init__(app)`` and ``async __call__``."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fusiondesk.service.observability import HTTP_LATENCY, HTTP_REQUESTS, request_id

access_log = logging.getLogger("fusiondesk.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class BodySizeLimit:
    """Refuses bodies over ``max_bytes`` with 413: at once when Content-Length says so, else as
    soon as the streamed body crosses the limit, so an oversized upload is never read whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app's body reading; the error handlers answer 413
                    # and the server then closes the connection rather than drain the rest.
                    raise HTTPException(413, self._message, headers={"Connection": "close"})
            return message

        await self.app(scope, counting_receive, send)

    @property
    def _message(self) -> str:
        return f"Request body exceeds {self.max_bytes} bytes."

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "body_too_large",
                    "message": self._message,
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RequestContext:
    """Gives every request an id (the client's ``X-Request-ID`` when sane), returns it as a
    header, logs one access line (path without the query string, which may hold a key or a
    token) and records the Prometheus request count and latency per route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        current = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        token = request_id.set(current)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", current.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                self._observe(scope, status, time.perf_counter() - started)
            request_id.reset(token)

    @staticmethod
    def _observe(scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        # Route templates, not raw paths, keep the metric's label set small.
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        HTTP_REQUESTS.labels(method, template, str(status)).inc()
        HTTP_LATENCY.labels(method, template).observe(seconds)
        client = scope.get("client")
        access_log.info(
            "%s %s %d",
            method,
            scope["path"],
            status,
            extra={
                "fields": {
                    "method": method,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "client": client[0] if client else None,
                }
            },
        )


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})
SIMPLE_POST_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
"""Content types a page on any site may POST without a CORS preflight (a "simple request")."""


def allowed_hosts(bound_host: str, extra: list[str]) -> frozenset[str]:
    """Loopback names, the bound address (unless it is every interface) and the configured
    names, lower-cased; ``*`` among them allows any."""
    bound = {bound_host.lower().strip("[]")} - WILDCARD_ADDRESSES
    return LOOPBACK_HOSTS | bound | {host.lower() for host in extra}


def host_name(host_header: str) -> str:
    """``example.com:8000`` → ``example.com``; ``[::1]:8000`` → ``::1``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def same_origin(scope: Scope, origin: str) -> bool:
    """Whether ``origin`` is this server as the client reached it, scheme included."""
    scheme = {"ws": "http", "wss": "https"}.get(scope["scheme"], scope["scheme"])
    host = _header(scope, b"host")
    return bool(host) and origin.lower() == f"{scheme}://{host}".lower()


def origin_allowed(scope: Scope, origin: str, cors_origins: list[str]) -> bool:
    return "*" in cors_origins or origin in cors_origins or same_origin(scope, origin)


def _header(scope: Scope, name: bytes) -> str:
    value: bytes = dict(scope["headers"]).get(name, b"")
    return value.decode("latin-1")


class HostAndOriginGuard:
    """Answers only to allowed ``Host`` names (400 otherwise: DNS rebinding points a foreign
    name at this server; host-header attacks forge links), and refuses POSTs that a page on
    another site could send without a CORS preflight (forms, multipart, text/plain) unless
    their ``Origin`` is allowed: CORS alone lets such "simple requests" through, side effects
    and all, and only hides the answer."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str], cors_origins: list[str]) -> None:
        self.app = app
        self.hosts = hosts
        self.cors_origins = cors_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = host_name(_header(scope, b"host"))
        if "*" not in self.hosts and host not in self.hosts:
            await _deny(scope, send, 400, "invalid_host", f"Host {host!r} is not served here.")
            return
        origin = _header(scope, b"origin")
        if scope["type"] == "http" and origin and self._is_simple_post(scope):
            if not origin_allowed(scope, origin, self.cors_origins):
                message = f"Form posts from origin {origin!r} are not allowed."
                await _deny(scope, send, 403, "origin_not_allowed", message)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _is_simple_post(scope: Scope) -> bool:
        content_type = _header(scope, b"content-type").split(";")[0].strip().lower()
        return scope["method"] == "POST" and content_type in SIMPLE_POST_TYPES


async def _deny(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": code})
