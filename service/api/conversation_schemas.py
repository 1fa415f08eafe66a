"""Bodies of the conversation endpoints (REST, WebSocket frames, server-sent events)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fusiondesk.service.api.schemas import PartIn
from fusiondesk.service.conversations.store import Turn
from fusiondesk.service.ids import ID_PATTERN, MAX_ID_CHARS
from fusiondesk.service.runtime import HandledMessage

TEXT_EXAMPLE: dict[str, Any] = {"type": "text", "text": "where is my parcel"}


class ConversationCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "pV1bq3mE5pXcN0cV6mI0-w",
                    "token": "3vYq3o0n8k2mH1pQ7yTtKx9w0bC4dE5fG6hI7jK8lM0",
                }
            ]
        }
    )

    conversation_id: str = Field(description="Unguessable id of the new conversation.")
    token: str = Field(
        description="Proves the caller owns the conversation: send it as "
        "`Authorization: Bearer <token>` (or `?token=` on WebSocket/SSE URLs)."
    )


class ChatMessageIn(BaseModel):
    """A customer message on a conversation: the WebSocket frame and the SSE request body."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"type": "message", "message_id": "m1", "parts": [TEXT_EXAMPLE]}]
        }
    )

    type: Literal["message"] = "message"
    message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="Client-chosen id, echoed in every event about this message.",
    )
    parts: list[PartIn] = Field(min_length=1)


class AttachmentOut(BaseModel):
    """A file an agent sent; the customer fetches it from
    ``GET /v1/conversations/{id}/media/{key}``, an agent from ``/v1/agent/.../media/{key}``."""

    key: str
    media_type: str
    name: str
    size: int


class TurnOut(BaseModel):
    """One side of an exchange: the customer's message (with what was understood), or the
    bot's reply to it. Both carry the customer message's ``message_id``."""

    model_config = ConfigDict(extra="allow")

    message_id: str
    role: Literal["customer", "bot", "agent", "note"]
    text: str | None = None
    sequence: int = Field(description="1-based number of the exchange in the conversation.")
    created_at: float
    parts: list[dict[str, Any]] | None = None
    transcript: str | None = None
    language: str | None = None
    ocr: str | None = None
    intent: str | None = None
    confidence: float | None = None
    out_of_scope: bool | None = None
    timings_ms: dict[str, float] | None = None
    reply: str | None = None
    quick_replies: list[str] | None = None
    handoff: bool | None = None
    agent: str | None = Field(default=None, description="The agent who wrote it (agent, note).")
    ranking: list[dict[str, Any]] | None = None
    attachments: list[AttachmentOut] | None = Field(
        default=None, description="Files an agent sent with the reply."
    )


class ConversationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "pV1bq3mE5pXcN0cV6mI0-w",
                    "handoff": False,
                    "turns": [
                        {
                            "message_id": "m1",
                            "role": "customer",
                            "sequence": 1,
                            "text": "where is my parcel",
                            "parts": [{"type": "text", "plugin": "text", "details": {}}],
                            "intent": "order_status",
                            "confidence": 0.97,
                            "out_of_scope": False,
                            "created_at": 1764000000.0,
                            "timings_ms": {"preprocess": 0.2, "encode": 9.1, "classify": 0.4},
                        },
                        {
                            "message_id": "m1",
                            "role": "bot",
                            "sequence": 1,
                            "text": "You can follow your order any time from 'My orders'.",
                            "reply": "You can follow your order any time from 'My orders'.",
                            "quick_replies": ["Track my order", "Talk to a person"],
                            "handoff": False,
                            "created_at": 1764000000.1,
                        },
                    ],
                }
            ]
        }
    )

    conversation_id: str
    handoff: bool = Field(description="Whether the conversation was handed to a person.")
    turns: list[TurnOut]


def turns_out(turns: list[Turn], *, notes: bool = False) -> list[dict[str, Any]]:
    """The stored turns as the API shows them: a customer entry and a bot entry per exchange
    (no bot entry while a person had the conversation and the bot stayed silent), an agent
    entry per agent reply, and with ``notes`` (the agents' view) the internal notes."""
    shown: list[dict[str, Any]] = []
    for turn in turns:
        if turn.kind in ("agent", "note"):
            if turn.kind == "agent" or notes:
                shown.append(_agent_entry(turn))
            continue
        customer = TurnOut(
            message_id=turn.message_id,
            role="customer",
            text=turn.text,
            sequence=turn.sequence,
            created_at=turn.created_at,
            parts=turn.parts,
            transcript=turn.transcript,
            language=turn.language,
            ocr=turn.ocr,
            intent=turn.intent,
            confidence=turn.confidence,
            out_of_scope=turn.out_of_scope,
            timings_ms=turn.timings_ms,
            ranking=turn.ranking if notes and turn.ranking else None,
        )
        if turn.answered_by == "held" and not turn.reply:
            shown.append(customer.model_dump(exclude_none=True))
            continue
        bot = TurnOut(
            message_id=turn.message_id,
            role="bot",
            text=turn.reply,
            reply=turn.reply,
            sequence=turn.sequence,
            created_at=turn.replied_at or turn.created_at,
            quick_replies=turn.quick_replies,
            handoff=turn.handoff,
        )
        shown += [customer.model_dump(exclude_none=True), bot.model_dump(exclude_none=True)]
    return shown


def _agent_entry(turn: Turn) -> dict[str, Any]:
    role: Literal["agent", "note"] = "agent" if turn.kind == "agent" else "note"
    entry = TurnOut(
        message_id=turn.message_id,
        role=role,
        text=turn.reply,
        sequence=turn.sequence,
        created_at=turn.created_at,
        agent=turn.agent,
        attachments=[AttachmentOut.model_validate(a) for a in turn.attachments] or None,
    )
    return entry.model_dump(exclude_none=True)


def reply_event(handled: HandledMessage) -> dict[str, Any]:
    prediction = handled.understanding.prediction
    return {
        "event": "reply",
        "message_id": handled.message_id,
        "text": handled.reply.text,
        "quick_replies": handled.reply.quick_replies,
        "intent": prediction.intent,
        "confidence": prediction.confidence,
        "out_of_scope": prediction.out_of_scope,
        "handoff": handled.reply.handoff,
        "chunk": False,
    }


def live_event(event: dict[str, Any], *, notes: bool) -> dict[str, Any] | None:
    """A handoff bus event as a socket sends it: its stored turn shown as ``entries`` (as in
    the history); None for a note on a customer's socket."""
    raw = event.get("turn")
    if not isinstance(raw, dict):
        return event
    entries = turns_out([Turn.from_dict(raw)], notes=notes)
    if not entries:
        return None
    shown = {key: value for key, value in event.items() if key != "turn"}
    return {**shown, "entries": entries}


def error_event(code: str, message: str, message_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"event": "error", "code": code, "message": message}
    if message_id is not None:
        event["message_id"] = message_id
    return event
