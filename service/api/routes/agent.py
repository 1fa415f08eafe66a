"""The agents' desk, ``/v1/agent/*`` (``agent`` scope): the queue of handed-off
conversations, a conversation with everything the bot understood, claim, reply, note, typing,
hand back, resolve, and the live feed (``WS /v1/agent/feed``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, WebSocket
from starlette.websockets import WebSocketDisconnect

from fusiondesk.service.api.agent_files import MULTIPART_SCHEMA, read_agent_reply
from fusiondesk.service.api.agent_schemas import (
    AgentConversationOut,
    AgentEntryOut,
    AgentTextIn,
    QueueEntryOut,
    QueueOut,
    StateOut,
    entries_out,
)
from fusiondesk.service.api.conversation_schemas import error_event, live_event, turns_out
from fusiondesk.service.api.deps import RuntimeDep, runtime_of
from fusiondesk.service.api.media import MediaKey, media_response
from fusiondesk.service.api.openapi import AUTH_ERRORS, error_responses
from fusiondesk.service.api.routes.realtime import _check_origin, _refuse
from fusiondesk.service.api.security import (
    ADMIN,
    AGENT,
    AgentPrincipal,
    agent_name,
    authenticate,
)
from fusiondesk.service.errors import ConversationNotFoundError, ForbiddenError
from fusiondesk.service.handoff.events import AGENTS
from fusiondesk.service.ids import ID_PATTERN, MAX_ID_CHARS
from fusiondesk.service.runtime import Runtime

router = APIRouter(prefix="/v1/agent", tags=["agent"])

ConversationId = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
CHANGE_ERRORS = error_responses(*AUTH_ERRORS, 404, 409, 422)


async def _existing(runtime: Runtime, conversation_id: str) -> None:
    if await runtime.store.meta(conversation_id) is None:
        raise ConversationNotFoundError(f"No conversation {conversation_id!r}.")


@router.get(
    "/queue",
    summary="Handed-off conversations: waiting first, oldest first",
    response_model=QueueOut,
    responses=error_responses(*AUTH_ERRORS),
)
async def queue(runtime: RuntimeDep, principal: AgentPrincipal) -> QueueOut:
    entries = await runtime.desk.queue()
    return QueueOut(conversations=[QueueEntryOut(**entry.to_dict()) for entry in entries])


@router.get(
    "/conversations/{conversation_id}",
    summary="A conversation with transcripts, OCR text, rankings and notes",
    response_model=AgentConversationOut,
    response_model_exclude_none=True,
    responses=error_responses(*AUTH_ERRORS, 404, 422),
)
async def open_conversation(
    conversation_id: ConversationId, runtime: RuntimeDep, principal: AgentPrincipal
) -> AgentConversationOut:
    await _existing(runtime, conversation_id)
    turns = await runtime.store.turns(conversation_id)
    state = await runtime.store.state(conversation_id)
    return AgentConversationOut(
        conversation_id=conversation_id,
        state=StateOut.of(conversation_id, state),
        turns=entries_out(turns_out(turns, notes=True)),
    )


@router.post(
    "/conversations/{conversation_id}/claim",
    summary="Take a waiting conversation (one agent at a time: another claim gets 409)",
    response_model=StateOut,
    responses=CHANGE_ERRORS,
)
async def claim(
    conversation_id: ConversationId,
    request: Request,
    runtime: RuntimeDep,
    principal: AgentPrincipal,
) -> StateOut:
    await _existing(runtime, conversation_id)
    state = await runtime.desk.claim(conversation_id, agent_name(request, principal))
    return StateOut.of(conversation_id, state)


@router.post(
    "/conversations/{conversation_id}/reply",
    summary="Reply to the customer with text and files (the claiming agent only)",
    description='A JSON body `{"text"}`, or a multipart form with `text` and one or more '
    "files (PNG, JPEG, GIF, WebP images or PDF, their type read from their bytes: anything "
    "else is 415). The files are kept with the conversation and listed in the reply's "
    "`attachments`; the customer fetches them from `GET /v1/conversations/{id}/media/{key}`.",
    response_model=AgentEntryOut,
    response_model_exclude_none=True,
    responses=error_responses(*AUTH_ERRORS, 400, 404, 409, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": AgentTextIn.model_json_schema()},
                "multipart/form-data": {"schema": MULTIPART_SCHEMA},
            },
        }
    },
)
async def reply(
    conversation_id: ConversationId,
    request: Request,
    runtime: RuntimeDep,
    principal: AgentPrincipal,
) -> AgentEntryOut:
    await _existing(runtime, conversation_id)
    text, files = await read_agent_reply(request, runtime.settings.limits)
    turn = await runtime.desk.reply(conversation_id, agent_name(request, principal), text, files)
    return AgentEntryOut.model_validate(turns_out([turn])[0])


@router.post(
    "/conversations/{conversation_id}/notes",
    summary="Add an internal note (agents see it; the customer never does)",
    response_model=AgentEntryOut,
    response_model_exclude_none=True,
    responses=CHANGE_ERRORS,
)
async def note(
    conversation_id: ConversationId,
    body: AgentTextIn,
    request: Request,
    runtime: RuntimeDep,
    principal: AgentPrincipal,
) -> AgentEntryOut:
    await _existing(runtime, conversation_id)
    turn = await runtime.desk.note(conversation_id, agent_name(request, principal), body.text)
    return AgentEntryOut.model_validate(turns_out([turn], notes=True)[0])


@router.post(
    "/conversations/{conversation_id}/typing",
    summary="Show the customer that the agent is typing",
    status_code=204,
    responses=CHANGE_ERRORS,
)
async def typing(
    conversation_id: ConversationId,
    request: Request,
    runtime: RuntimeDep,
    principal: AgentPrincipal,
) -> None:
    await _existing(runtime, conversation_id)
    await runtime.desk.typing(conversation_id, agent_name(request, principal))


@router.post(
    "/conversations/{conversation_id}/handback",
    summary="Give the conversation back to the bot",
    response_model=StateOut,
    responses=CHANGE_ERRORS,
)
async def hand_back(
    conversation_id: ConversationId,
    request: Request,
    runtime: RuntimeDep,
    principal: AgentPrincipal,
) -> StateOut:
    await _existing(runtime, conversation_id)
    state = await runtime.desk.hand_back(conversation_id, agent_name(request, principal))
    return StateOut.of(conversation_id, state)


@router.post(
    "/conversations/{conversation_id}/resolve",
    summary="Close the conversation",
    response_model=StateOut,
    responses=CHANGE_ERRORS,
)
async def resolve(
    conversation_id: ConversationId,
    request: Request,
    runtime: RuntimeDep,
    principal: AgentPrincipal,
) -> StateOut:
    await _existing(runtime, conversation_id)
    state = await runtime.desk.resolve(conversation_id, agent_name(request, principal))
    return StateOut.of(conversation_id, state)


@router.get(
    "/conversations/{conversation_id}/media/{key}",
    summary="A customer's audio or image (kept once the conversation was handed off), or a "
    "file an agent sent",
    response_class=Response,
    responses={
        200: {
            "content": {
                "image/png": {"example": "(bytes)"},
                "audio/wav": {"example": "(bytes)"},
                "application/pdf": {"example": "(bytes)"},
            }
        },
        **error_responses(*AUTH_ERRORS, 404, 422),
    },
)
async def media(
    conversation_id: ConversationId,
    key: MediaKey,
    runtime: RuntimeDep,
    principal: AgentPrincipal,
) -> Response:
    found = await runtime.store.media(conversation_id, key)
    if found is None:
        raise ConversationNotFoundError(f"No media {key!r} in conversation {conversation_id!r}.")
    return media_response(*found)


@router.websocket("/feed")
async def agent_feed(websocket: WebSocket) -> None:
    """The queue on connect (``queue`` event), then every handoff event live: ``handoff``,
    ``customer_message``, ``agent_joined``, ``agent_message``, ``note``, ``handed_back``,
    ``resolved``. Frames in: ``{"type": "ping"}``, ``{"type": "typing", "conversation_id"}``."""
    runtime = runtime_of(websocket)
    try:
        _check_origin(websocket, runtime.settings.cors_origins)
        principal = await authenticate(websocket)
        if AGENT not in principal.scopes and ADMIN not in principal.scopes:
            raise ForbiddenError("This API key lacks the 'agent' scope.")
    except Exception as error:
        await _refuse(websocket, error)
        return
    await websocket.accept()
    name = agent_name(websocket, principal)
    send_lock = asyncio.Lock()

    async def send(event: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_text(json.dumps(event))

    async with runtime.bus.subscribe(AGENTS) as live:
        entries = await runtime.desk.queue()
        await send({"event": "queue", "conversations": [e.to_dict() for e in entries]})
        forwarder = asyncio.create_task(_forward(live, send))
        try:
            while True:
                await _agent_frame(await websocket.receive_text(), runtime, name, send)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            forwarder.cancel()


async def _agent_frame(text: str, runtime: Runtime, name: str, send: Any) -> None:
    try:
        frame = json.loads(text)
    except ValueError:
        frame = None
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind == "ping":
        await send({"event": "pong"})
    elif (
        kind == "typing"
        and isinstance(frame, dict)
        and isinstance(frame.get("conversation_id"), str)
    ):
        with contextlib.suppress(Exception):  # typing is a hint, never an error
            await runtime.desk.typing(frame["conversation_id"], name)
    else:
        await send(
            error_event("unknown_frame", "Send {'type': 'ping'} or {'type': 'typing', ...}.")
        )


async def _forward(live: asyncio.Queue[dict[str, Any]], send: Any) -> None:
    while True:
        shown = live_event(await live.get(), notes=True)
        if shown is not None:
            try:
                await send(shown)
            except (WebSocketDisconnect, RuntimeError):
                return
