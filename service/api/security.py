"""Who is calling, what they may do, and how often.

* API keys come as ``X-API-Key`` (or ``?key=`` on WebSocket/SSE URLs, which browsers cannot
  give headers) and are compared by their sha256, the only form settings hold.
* Scopes: ``chat`` (send messages, read one's own conversations), ``agent`` (the agents'
  desk, ``/v1/agent/*``: read and answer handed-off conversations) and ``admin``
  (``/v1/admin/*``, and the desk too). A *public* key (the chat widget's) may only chat on
  conversations it created.
* Every conversation has a token, given to the call that made it (``POST /v1/conversations``,
  or the first ``POST /v1/messages``, WebSocket or SSE message on a new id); reading or
  chatting on it needs that token (``Authorization: Bearer``, or ``?token=``), the non-public
  key that made it, or an admin key. Anything else answers 404, never 403, so conversation ids
  cannot be probed or claimed.
* With ``auth.required`` off (the embedded default) no key is needed and every caller has
  every scope; conversation tokens are still checked.
* Every authenticated request counts against its IP's and its key's rate limits.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from fusiondesk.service.api.deps import runtime_of
from fusiondesk.service.api.ratelimit import FailedAuthentications, RateLimiter
from fusiondesk.service.conversations.store import ConversationMeta
from fusiondesk.service.errors import (
    ConversationNotFoundError,
    ForbiddenError,
    RateLimitedError,
    RequestRejectedError,
    UnauthorizedError,
)
from fusiondesk.service.ids import is_valid_id
from fusiondesk.service.observability import AUTH_FAILURES, RATE_LIMITED
from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import ApiKey

CHAT, ADMIN, AGENT = "chat", "admin", "agent"

logger = logging.getLogger(__name__)


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller: an API key's name and scopes, or anonymous when auth is off."""

    ip: str
    key_name: str | None = None
    scopes: frozenset[str] = frozenset({CHAT, ADMIN, AGENT})
    public: bool = False

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes


def _find_key(keys: list[ApiKey], presented: str) -> ApiKey | None:
    digest = sha256_hex(presented)
    for key in keys:
        if hmac.compare_digest(key.sha256, digest):
            return key
    return None


async def authenticate(connection: HTTPConnection) -> Principal:
    """The caller, after its rate limits; raises 401 for a missing (when required) or unknown
    key and 429 past a limit. Works for HTTP requests and WebSockets alike."""
    runtime = runtime_of(connection)
    auth = runtime.settings.auth
    ip = connection.client.host if connection.client else "unknown"
    presented = connection.headers.get("x-api-key") or connection.query_params.get("key")
    principal = Principal(ip=ip)
    if presented or auth.required:
        failures: FailedAuthentications = connection.app.state.auth_failures
        await _wait_out_failures(failures, ip)
        if not presented:
            await _count_failure(failures, ip, "missing_key")
            raise UnauthorizedError("An API key is required: send it in the X-API-Key header.")
        key = _find_key(auth.api_keys, presented)
        if key is None:
            await _count_failure(failures, ip, "unknown_key")
            raise UnauthorizedError("Unknown API key.")
        principal = Principal(ip, key.name, frozenset(key.scopes), key.public)
    await enforce_rate_limits(connection, principal)
    return principal


async def _wait_out_failures(failures: FailedAuthentications, ip: str) -> None:
    """An IP that failed too often waits before any key of it is looked at: guessing keys
    costs time, exponentially more the longer it goes on."""
    wait = await failures.pending(ip)
    if wait > 0:
        AUTH_FAILURES.labels("refused_waiting").inc()
        RATE_LIMITED.labels("auth").inc()
        raise RateLimitedError(
            "Too many failed authentications from this address; retry later.",
            retry_after_seconds=wait,
        )


async def _count_failure(failures: FailedAuthentications, ip: str, reason: str) -> None:
    count = await failures.failed(ip)
    AUTH_FAILURES.labels(reason).inc()
    # Never the presented key: a near-miss of a real one is a secret too.
    logger.warning(
        "failed authentication from %s (%s): failure %d",
        ip,
        reason,
        count,
        extra={"fields": {"client": ip, "reason": reason, "failures": count}},
    )


async def enforce_rate_limits(connection: HTTPConnection, principal: Principal) -> None:
    """Counts one request (or WebSocket message) against the IP's and the key's limits."""
    limits = runtime_of(connection).settings.rate_limits
    limiter: RateLimiter = connection.app.state.limiter
    buckets = [("ip", f"ip:{principal.ip}", limits.per_ip_per_minute)]
    if principal.key_name is not None:
        buckets.append(("key", f"key:{principal.key_name}", limits.per_key_per_minute))
    for scope, bucket, limit in buckets:
        if limit <= 0:
            continue
        wait = await limiter.hit(bucket, limit)
        if wait is not None:
            RATE_LIMITED.labels(scope).inc()
            raise RateLimitedError(
                f"Rate limit of {limit} requests per minute per {scope} reached.",
                retry_after_seconds=wait,
            )


async def _with_scope(request: Request, scope: str) -> Principal:
    principal = await authenticate(request)
    if scope not in principal.scopes:
        raise ForbiddenError(f"This API key lacks the {scope!r} scope.")
    return principal


async def require_chat(request: Request) -> Principal:
    """Dependency: a caller allowed to chat (any key when auth is on; anyone when off)."""
    return await _with_scope(request, CHAT)


async def require_admin(request: Request) -> Principal:
    """Dependency of every ``/v1/admin/*`` route: ``dependencies=[Depends(require_admin)]``."""
    return await _with_scope(request, ADMIN)


async def require_agent(request: Request) -> Principal:
    """Dependency of every ``/v1/agent/*`` route: an ``agent`` key (or an ``admin`` one)."""
    principal = await authenticate(request)
    if AGENT not in principal.scopes and ADMIN not in principal.scopes:
        raise ForbiddenError("This API key lacks the 'agent' scope.")
    return principal


def agent_name(connection: HTTPConnection, principal: Principal) -> str:
    """Who an agent is: its key's name; with auth off (no key), ``X-Agent-Name`` or
    ``?agent=``, else ``agent``. A key's holder cannot speak as another agent."""
    if principal.key_name is not None:
        return principal.key_name
    named = connection.headers.get("x-agent-name") or connection.query_params.get("agent")
    name = (named or "agent").strip()[:64]
    return name or "agent"


ChatPrincipal = Annotated[Principal, Depends(require_chat)]
AgentPrincipal = Annotated[Principal, Depends(require_agent)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]


def conversation_token(connection: HTTPConnection) -> str | None:
    """The conversation token: ``Authorization: Bearer <token>`` or ``?token=``."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.query_params.get("token") or None


def may_use(
    meta: ConversationMeta, principal: Principal, token: str | None, auth_required: bool
) -> bool:
    """The conversation's token, its owning (non-public) key, or an admin key opens it."""
    if principal.is_admin and principal.key_name is not None:
        return True
    if meta.token_sha256 is not None:
        if token is not None and hmac.compare_digest(meta.token_sha256, sha256_hex(token)):
            return True
        return _is_owning_key(meta, principal)
    # Made before conversations all had tokens (a stored history from an older version):
    # the key that made it, or, with auth off, everyone.
    if principal.public:
        return False
    return not auth_required or principal.key_name == meta.owner


def _is_owning_key(meta: ConversationMeta, principal: Principal) -> bool:
    # A public key is shared by every browser of a site: owning by key would share history.
    return (
        principal.key_name is not None
        and not principal.public
        and (principal.key_name == meta.owner)
    )


@dataclass(frozen=True)
class ConversationAccess:
    """A conversation the caller may use; ``new_token`` when this call created it."""

    meta: ConversationMeta
    new_token: str | None = None


async def authorize_conversation(
    runtime: Runtime,
    conversation_id: str,
    principal: Principal,
    token: str | None,
    *,
    create: bool,
) -> ConversationAccess:
    """The conversation if the caller may use it, else 404. With ``create``, a conversation
    that does not exist yet is made for the caller, owned by its key and with a new token
    (given back once, in ``new_token``), so no other client can read or claim it. Never for a
    public key: it must create conversations with POST /v1/conversations."""
    max_chars = runtime.settings.limits.max_conversation_id_chars
    if not is_valid_id(conversation_id, max_chars=max_chars):
        if create:
            raise RequestRejectedError(
                f"A conversation id has at most {max_chars} letters, digits or '_.:-'.",
                code="invalid_conversation_id",
            )
        raise ConversationNotFoundError(f"No conversation {conversation_id!r}.")
    store = runtime.store
    meta = await store.meta(conversation_id)
    if meta is None and create and not principal.public:
        new_token = secrets.token_urlsafe(32)
        made = ConversationMeta(time.time(), sha256_hex(new_token), owner=principal.key_name)
        if await store.create(conversation_id, made):
            return ConversationAccess(made, new_token)
        meta = await store.meta(conversation_id)  # another request made it first
    if meta is None or not may_use(meta, principal, token, runtime.settings.auth.required):
        raise ConversationNotFoundError(f"No conversation {conversation_id!r}.")
    return ConversationAccess(meta)
