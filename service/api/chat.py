"""One customer message through the service, as a sequence of events (WebSocket and SSE).

``received`` → ``transcript`` (per voice part) → ``typing`` → ``reply`` → ``handoff`` (when
the reply hands over), or ``error`` at any point after ``received``. While a person has the
conversation, ``held`` replaces ``reply`` (unless the bot acknowledges the message once).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fusiondesk.plugins import InputError, Part
from fusiondesk.service.api.conversation_schemas import error_event, reply_event
from fusiondesk.service.api.errors import input_error_status
from fusiondesk.service.errors import FusionDeskError, RequestRejectedError
from fusiondesk.service.observability import record_message
from fusiondesk.service.runtime import Runtime
from fusiondesk.service.understanding.router import Understanding

logger = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], Awaitable[None]]

# Leading bytes of the binary media a chat client sends without announcing its type.
_SIGNATURES: list[tuple[bytes, int, str, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "image", "image/png"),
    (b"\xff\xd8\xff", 0, "image", "image/jpeg"),
    (b"GIF8", 0, "image", "image/gif"),
    (b"WEBP", 8, "image", "image/webp"),
    (b"WAVE", 8, "audio", "audio/wav"),
    (b"OggS", 0, "audio", "audio/ogg"),
    (b"\x1a\x45\xdf\xa3", 0, "audio", "audio/webm"),
    (b"fLaC", 0, "audio", "audio/flac"),
    (b"ID3", 0, "audio", "audio/mpeg"),
]


IMAGE_SIGNATURES = [
    (signature, offset, media_type)
    for signature, offset, part_type, media_type in _SIGNATURES
    if part_type == "image"
]
"""The images a browser shows inline, by their leading bytes."""


def sniff_part_type(data: bytes) -> tuple[str, str]:
    """(part type, media type) of an unannounced binary frame; raises if unrecognised."""
    for signature, offset, part_type, media_type in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return part_type, media_type
    raise RequestRejectedError(
        "Unrecognised binary frame: announce it first with an 'attachment' frame.",
        code="unsupported_media",
        status=415,
    )


JSON_TOO_DEEP = "json_too_deep"


def load_json(text: str, invalid: str) -> Any:
    """``json.loads``, refusing bad JSON with ``invalid`` as the message (422) and JSON nested
    past the parser's recursion limit (~1,000 levels) as ``json_too_deep``, so that a
    ``RecursionError`` never escapes into an error handler."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestRejectedError(invalid) from error
    except RecursionError as error:
        raise RequestRejectedError("The JSON is nested too deeply.", code=JSON_TOO_DEEP) from error


def check_part_count(runtime: Runtime, parts: Sequence[Part]) -> None:
    limit = runtime.settings.limits.max_parts
    if len(parts) > limit:
        raise RequestRejectedError(
            f"A message may have at most {limit} parts; it has {len(parts)}.",
            code="too_many_parts",
            status=413,
        )


def describe_error(error: Exception) -> tuple[int, str, str]:
    """(status, code, message) of an error, as the HTTP error handlers would answer it."""
    if isinstance(error, InputError):
        return input_error_status(error), error.code, str(error)
    if isinstance(error, FusionDeskError):
        return error.status, error.code, error.message
    return 500, "internal_error", "Something went wrong on our side."


async def converse(
    runtime: Runtime,
    conversation_id: str,
    message_id: str,
    parts: Sequence[Part],
    emit: Emit,
    *,
    channel: str,
) -> None:
    """Handle one message, emitting its events; errors become an ``error`` event. It is
    recorded before ``received`` is sent, so an acknowledged message is answered even if this
    process stops first (by the next one, into the history)."""
    try:
        await runtime.accept(conversation_id, message_id, parts)
    except FusionDeskError as error:
        await emit(error_event(error.code, error.message, message_id))
        return
    await emit({"event": "received", "message_id": message_id})

    async def on_understood(understanding: Understanding) -> None:
        for part in understanding.parts:
            transcript = part.details.get("transcript")
            if isinstance(transcript, str) and transcript.strip():
                await emit(
                    {
                        "event": "transcript",
                        "message_id": message_id,
                        "text": transcript.strip(),
                        "language": part.details.get("language"),
                    }
                )
        await emit({"event": "typing"})

    try:
        handled = await runtime.handle_accepted(
            conversation_id, message_id, parts, on_understood=on_understood
        )
    except Exception as error:
        status, code, message = describe_error(error)
        if status >= 500 and not isinstance(error, FusionDeskError):
            logger.exception("handling a %s message failed", channel)
        await emit(error_event(code, message, message_id))
        return
    prediction = handled.understanding.prediction
    if not handled.replayed:  # a retry's answer was counted when it was made
        record_message(
            channel,
            prediction.intent,
            out_of_scope=prediction.out_of_scope,
            handoff=handled.reply.handoff,
        )
    if handled.reply.answered_by == "held" and not handled.reply.text:
        # A person has the conversation: the message is stored and shown to the agents.
        await emit({"event": "held", "message_id": message_id})
        return
    await emit(reply_event(handled))
    if handled.reply.handoff:
        await emit({"event": "handoff", "message_id": message_id})
