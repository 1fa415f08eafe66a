"""``WS /v1/conversations/{id}/ws``: the chat widget's real-time channel.

On connect the server sends the conversation's ``history``. Each ``message`` frame (or binary
frame, announced by an ``attachment`` frame or recognised by its leading bytes) is handled in
arrival order while the socket keeps answering ``ping``; a message whose sender hangs up is
still handled and stored, so a reconnect shows its reply in the history.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from fusiondesk.plugins import Part
from fusiondesk.service.api.chat import (
    JSON_TOO_DEEP,
    check_part_count,
    converse,
    describe_error,
    load_json,
    sniff_part_type,
)
from fusiondesk.service.api.conversation_schemas import (
    ChatMessageIn,
    error_event,
    live_event,
    turns_out,
)
from fusiondesk.service.api.deps import runtime_of
from fusiondesk.service.api.errors import error_response
from fusiondesk.service.api.middleware import origin_allowed
from fusiondesk.service.api.security import (
    CHAT,
    Principal,
    authenticate,
    authorize_conversation,
    conversation_token,
    enforce_rate_limits,
)
from fusiondesk.service.errors import (
    ConversationNotFoundError,
    ForbiddenError,
    RequestRejectedError,
)
from fusiondesk.service.handoff.events import conversation_channel
from fusiondesk.service.ids import is_valid_id, new_message_id
from fusiondesk.service.observability import WEBSOCKETS
from fusiondesk.service.runtime import Runtime

logger = logging.getLogger(__name__)
router = APIRouter(tags=["conversations"])

MAX_QUEUED_MESSAGES = 16
"""Messages a socket may have waiting; past that the client is told to slow down."""


@router.websocket("/v1/conversations/{conversation_id}/ws")
async def chat_socket(websocket: WebSocket, conversation_id: str) -> None:
    runtime = runtime_of(websocket)
    try:
        _check_origin(websocket, runtime.settings.cors_origins)
        principal = await authenticate(websocket)
        if CHAT not in principal.scopes:
            raise ForbiddenError("This API key lacks the 'chat' scope.")
        if not is_valid_id(conversation_id):
            raise ConversationNotFoundError(f"No conversation {conversation_id!r}.")
        token = conversation_token(websocket)
        access = await authorize_conversation(
            runtime, conversation_id, principal, token, create=True
        )
    except Exception as error:
        await _refuse(websocket, error)
        return
    await websocket.accept()
    WEBSOCKETS.inc()
    try:
        await ChatSocket(websocket, runtime, conversation_id, principal).serve(access.new_token)
    finally:
        WEBSOCKETS.dec()


async def _refuse(websocket: WebSocket, error: Exception) -> None:
    """Refused before the handshake completes: the client sees the HTTP error it would get on
    REST (404 for another client's conversation), or a policy close where the server cannot
    send one."""
    status, code, message = describe_error(error)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(status, code, message))
    else:
        await websocket.close(code=1008, reason=code)


def _check_origin(websocket: WebSocket, allowed: list[str]) -> None:
    """Browsers send Origin on WebSockets but CORS does not guard them: refuse other sites'
    pages (cross-site WebSocket hijacking) unless the origin is allow-listed or this server
    itself, scheme included (its Host was checked against the allowed hosts, so a rebound
    foreign name does not pass as "itself")."""
    origin = websocket.headers.get("origin")
    if origin is not None and not origin_allowed(websocket.scope, origin, allowed):
        raise ForbiddenError(f"Origin {origin!r} is not allowed.")


class ChatSocket:
    def __init__(
        self, websocket: WebSocket, runtime: Runtime, conversation_id: str, principal: Principal
    ) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.conversation_id = conversation_id
        self.principal = principal
        self.max_bytes = runtime.settings.limits.max_body_bytes
        self.queue: asyncio.Queue[tuple[str, list[Part]] | None] = asyncio.Queue()
        self.announced: dict[str, Any] | None = None
        self.open = True
        self._send_lock = asyncio.Lock()

    async def serve(self, new_token: str | None = None) -> None:
        """``new_token``: this socket made the conversation; the history event carries its
        token, which reopens it later."""
        # Follow the agents' events before reading the history, so none falls in between.
        channel = conversation_channel(self.conversation_id)
        async with self.runtime.bus.subscribe(channel) as live:
            turns = await self.runtime.store.turns(self.conversation_id)
            state = await self.runtime.store.state(self.conversation_id)
            history: dict[str, Any] = {"event": "history", "turns": turns_out(turns)}
            if state.state != "bot":  # who answers, once a person has been involved
                history.update(state=state.state, agent=state.agent)
            if new_token is not None:
                history["token"] = new_token
            await self.emit(history)
            worker = asyncio.create_task(self._handle_messages())
            forwarder = asyncio.create_task(self._forward(live))
            try:
                await self._read_frames()
            except WebSocketDisconnect:
                pass
            finally:
                self.open = False
                forwarder.cancel()
                # Messages already received are still answered into the history.
                self.queue.put_nowait(None)
                await worker

    async def _forward(self, live: asyncio.Queue[dict[str, Any]]) -> None:
        """The agents' events of this conversation (joined, typing, replies) to the customer."""
        while True:
            shown = live_event(await live.get(), notes=False)
            if shown is not None:
                await self.emit(shown)

    async def emit(self, event: dict[str, Any]) -> None:
        if not self.open:
            return
        async with self._send_lock:
            try:
                await self.websocket.send_text(json.dumps(event))
            except (WebSocketDisconnect, RuntimeError):
                self.open = False  # the client left; its message is still handled

    async def _handle_messages(self) -> None:
        while (item := await self.queue.get()) is not None:
            message_id, parts = item
            await converse(
                self.runtime, self.conversation_id, message_id, parts, self.emit, channel="ws"
            )

    async def _read_frames(self) -> None:
        while True:
            frame = await self.websocket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            data: bytes | None = frame.get("bytes")
            text: str | None = frame.get("text")
            size = len(data) if data is not None else len(text or "")
            if size > self.max_bytes:
                await self.emit(
                    error_event("body_too_large", f"Frame exceeds {self.max_bytes} bytes.")
                )
                await self.websocket.close(code=1009)
                return
            try:
                if data is not None:
                    await self._binary(data)
                elif text is not None:
                    await self._text(text)
            except Exception as error:
                _, code, message = describe_error(error)
                await self.emit(error_event(code, message, _message_id_of(text)))
                if code == JSON_TOO_DEEP:  # not a chat client: say why, then hang up properly
                    await self.websocket.close(code=1007, reason=code)
                    return

    async def _text(self, text: str) -> None:
        frame = load_json(text, "Frames must be JSON objects.")
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await self.emit({"event": "pong"})
        elif kind == "attachment":
            self.announced = frame
        elif kind == "message":
            try:
                message = ChatMessageIn.model_validate(frame)
            except ValidationError as error:
                problem = error.errors()[0]
                where = ".".join(str(step) for step in problem["loc"])
                raise RequestRejectedError(f"{where}: {problem['msg']}") from error
            parts = [part.to_part() for part in message.parts]
            await self._enqueue(message.message_id, parts)
        else:
            raise RequestRejectedError(
                "Unknown frame type; send 'message', 'attachment' or 'ping'.", code="unknown_frame"
            )

    async def _binary(self, data: bytes) -> None:
        announced, self.announced = self.announced or {}, None
        part_type, media_type = announced.get("part_type"), announced.get("media_type")
        if not isinstance(part_type, str) or not isinstance(media_type, str):
            part_type, media_type = sniff_part_type(data)
        message_id = announced.get("message_id")
        if not is_valid_id(message_id):
            message_id = None
        await self._enqueue(message_id, [Part(part_type, data=data, media_type=media_type)])

    async def _enqueue(self, message_id: str | None, parts: list[Part]) -> None:
        check_part_count(self.runtime, parts)
        await enforce_rate_limits(self.websocket, self.principal)
        if self.queue.qsize() >= MAX_QUEUED_MESSAGES:
            raise RequestRejectedError(
                f"More than {MAX_QUEUED_MESSAGES} messages are waiting; wait for replies.",
                code="too_many_pending",
                status=429,
            )
        self.queue.put_nowait((message_id or new_message_id(), parts))


def _message_id_of(text: str | None) -> str | None:
    """The message id of a refused frame, when one can be read, so the client can match it."""
    try:
        frame = json.loads(text or "")
    except (ValueError, RecursionError):
        return None
    message_id = frame.get("message_id") if isinstance(frame, dict) else None
    return message_id if is_valid_id(message_id) else None
