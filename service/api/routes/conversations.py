"""Conversations: create one, read its history, chat on it by server-sent events."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import StreamingResponse

from fusiondesk.service.api.chat import check_part_count, converse
from fusiondesk.service.api.conversation_schemas import (
    ChatMessageIn,
    ConversationCreated,
    ConversationOut,
    TurnOut,
    live_event,
    turns_out,
)
from fusiondesk.service.api.deps import RuntimeDep
from fusiondesk.service.api.media import MediaKey, media_response
from fusiondesk.service.api.openapi import AUTH_ERRORS, error_responses
from fusiondesk.service.api.security import (
    ChatPrincipal,
    authorize_conversation,
    conversation_token,
    sha256_hex,
)
from fusiondesk.service.conversations.store import ConversationMeta
from fusiondesk.service.errors import ConversationNotFoundError
from fusiondesk.service.handoff.events import conversation_channel
from fusiondesk.service.ids import ID_PATTERN, MAX_ID_CHARS, new_message_id
from fusiondesk.service.runtime import Runtime

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

ConversationId = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]

CONVERSATION_TOKEN_HEADER = "X-Conversation-Token"

# Tasks handling SSE messages outlive a client that hangs up: the turn is still stored.
_running: set[asyncio.Task[None]] = set()

SSE_EXAMPLE = (
    'event: received\ndata: {"event": "received", "message_id": "m1"}\n\n'
    'event: typing\ndata: {"event": "typing"}\n\n'
    'event: reply\ndata: {"event": "reply", "message_id": "m1", "text": "You can follow your '
    'order from My orders.", "quick_replies": ["Track my order"], "intent": "order_status", '
    '"confidence": 0.97, "out_of_scope": false, "handoff": false, "chunk": false}\n\n'
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Start a conversation; returns its id and the token that reads it",
    response_model=ConversationCreated,
    responses=error_responses(*AUTH_ERRORS),
)
async def create_conversation(runtime: RuntimeDep, principal: ChatPrincipal) -> ConversationCreated:
    conversation_id, token = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
    meta = ConversationMeta(time.time(), token_sha256=sha256_hex(token), owner=principal.key_name)
    await runtime.store.create(conversation_id, meta)
    return ConversationCreated(conversation_id=conversation_id, token=token)


@router.get(
    "/{conversation_id}",
    summary="A conversation's turns: parts, transcript/OCR, intent, reply, timings",
    response_model=ConversationOut,
    response_model_exclude_none=True,
    responses=error_responses(*AUTH_ERRORS, 404, 422),
)
async def read_conversation(
    conversation_id: ConversationId,
    request: Request,
    runtime: RuntimeDep,
    principal: ChatPrincipal,
) -> ConversationOut:
    await authorize_conversation(
        runtime, conversation_id, principal, conversation_token(request), create=False
    )
    turns = await runtime.store.turns(conversation_id)
    return ConversationOut(
        conversation_id=conversation_id,
        handoff=any(turn.handoff for turn in turns),
        turns=[TurnOut.model_validate(turn) for turn in turns_out(turns)],
    )


@router.post(
    "/{conversation_id}/messages",
    summary="Send a message; the events stream back as server-sent events (WebSocket fallback)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`received`, `transcript`, `typing`, `reply`, `handoff` or `error` "
            "events, as on the WebSocket",
            "content": {"text/event-stream": {"example": SSE_EXAMPLE}},
        },
        **error_responses(400, *AUTH_ERRORS, 404, 413, 415, 422),
    },
)
async def send_message_sse(
    conversation_id: ConversationId,
    message: ChatMessageIn,
    request: Request,
    runtime: RuntimeDep,
    principal: ChatPrincipal,
) -> StreamingResponse:
    access = await authorize_conversation(
        runtime, conversation_id, principal, conversation_token(request), create=True
    )
    parts = [part.to_part() for part in message.parts]
    check_part_count(runtime, parts)
    message_id = message.message_id or new_message_id()
    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def handle() -> None:
        try:
            await converse(runtime, conversation_id, message_id, parts, events.put, channel="sse")
        finally:
            await events.put(None)

    task = asyncio.create_task(handle())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return StreamingResponse(
        _event_stream(events),
        media_type="text/event-stream",
        headers={
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
            # This message made the conversation: its token, which reads and reopens it.
            **({CONVERSATION_TOKEN_HEADER: access.new_token} if access.new_token else {}),
        },
    )


async def _event_stream(events: asyncio.Queue[dict[str, Any] | None]) -> AsyncIterator[str]:
    while (event := await events.get()) is not None:
        yield f"event: {event['event']}\ndata: {json.dumps(event)}\n\n"


@router.get(
    "/{conversation_id}/media/{key}",
    summary="A file an agent sent (or the customer's own kept audio or image)",
    description="Opened like the conversation: its token (`Authorization: Bearer` or "
    "`?token=`, so that an `<img src>` can show it) or its key. The keys are in the agent "
    "entries' `attachments`.",
    response_class=Response,
    responses={
        200: {
            "content": {
                "image/png": {"example": "(bytes)"},
                "application/pdf": {"example": "(bytes)"},
            }
        },
        **error_responses(*AUTH_ERRORS, 404, 422),
    },
)
async def conversation_media(
    conversation_id: ConversationId,
    key: MediaKey,
    request: Request,
    runtime: RuntimeDep,
    principal: ChatPrincipal,
) -> Response:
    await authorize_conversation(
        runtime, conversation_id, principal, conversation_token(request), create=False
    )
    found = await runtime.store.media(conversation_id, key)
    if found is None:
        raise ConversationNotFoundError(f"No media {key!r} in conversation {conversation_id!r}.")
    return media_response(*found)


KEEPALIVE_SECONDS = 15.0
"""A comment line this often keeps proxies from closing an idle event stream."""


@router.get(
    "/{conversation_id}/events",
    summary="The agents' events of a conversation as server-sent events (WebSocket fallback)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`agent_joined`, `agent_typing`, `agent_message`, `handed_back` and "
            "`resolved` events, as on the WebSocket (unnamed, each a JSON `data:` line)",
            "content": {
                "text/event-stream": {
                    "example": 'data: {"event": "agent_joined", "agent": "alice"}\n\n'
                }
            },
        },
        **error_responses(*AUTH_ERRORS, 404, 422),
    },
)
async def follow_conversation(
    conversation_id: ConversationId,
    request: Request,
    runtime: RuntimeDep,
    principal: ChatPrincipal,
) -> StreamingResponse:
    await authorize_conversation(
        runtime, conversation_id, principal, conversation_token(request), create=False
    )
    return StreamingResponse(
        _live_stream(runtime, conversation_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _live_stream(
    runtime: Runtime, conversation_id: str, request: Request
) -> AsyncIterator[str]:
    async with runtime.bus.subscribe(conversation_channel(conversation_id)) as live:
        yield ": following\n\n"  # sent at once, so the client knows it is subscribed
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(live.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            shown = live_event(event, notes=False)
            if shown is not None:
                yield f"data: {json.dumps(shown)}\n\n"
