"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, ConfigDict, Field

from fusiondesk.plugins import Part
from fusiondesk.service.errors import RequestRejectedError
from fusiondesk.service.ids import ID_PATTERN, MAX_ID_CHARS


class PartIn(BaseModel):
    """One part of a message. Binary content (audio, images) travels base64-encoded in ``data``.

    Part types beyond text, audio and image are those of installed plugins; their extra fields
    pass through to the plugin.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"type": "text", "text": "where is my parcel"}]},
    )

    type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    text: str | None = None
    data: str | None = Field(default=None, description="Base64-encoded bytes.")
    media_type: str | None = Field(default=None, max_length=255)
    filename: str | None = Field(default=None, max_length=255)

    def to_part(self) -> Part:
        data = None
        if self.data is not None:
            try:
                data = base64.b64decode(self.data, validate=True)
            except (binascii.Error, ValueError) as error:
                raise RequestRejectedError(
                    f"Part of type {self.type!r}: 'data' is not valid base64.",
                    code="invalid_base64",
                ) from error
        return Part(
            type=self.type,
            text=self.text,
            data=data,
            media_type=self.media_type,
            filename=self.filename,
            fields=dict(self.model_extra or {}),
        )


class MessageEnvelope(BaseModel):
    """A message's ids and JSON parts; multipart uploads may add further parts."""

    conversation_id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)
    message_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ID_CHARS,
        pattern=ID_PATTERN,
        description="Client-chosen id; the server makes one when absent.",
    )
    parts: list[PartIn] = Field(default_factory=list)


class MessageIn(MessageEnvelope):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"conversation_id": "c1", "parts": [{"type": "text", "text": "where is my parcel"}]}
            ]
        }
    )

    parts: list[PartIn] = Field(min_length=1)


class RankedIntentOut(BaseModel):
    intent: str
    confidence: float


class PartOut(BaseModel):
    type: str
    plugin: str
    slots: list[str]
    details: dict[str, object]
    prediction: RankedIntentOut | None = Field(
        default=None,
        description="The intent this part alone gives (null when the model reads none of its "
        "slots): which parts drove the message's intent.",
    )


class SourceOut(BaseModel):
    """A knowledge-base entry the reply quotes or draws from."""

    title: str
    file: str = Field(description="The knowledge file's name.")
    score: float = Field(description="Cosine similarity between the message and the entry.")


class MessageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "c1",
                    "message_id": "9f1c2e",
                    "intent": "order_status",
                    "confidence": 0.97,
                    "ranking": [
                        {"intent": "order_status", "confidence": 0.97},
                        {"intent": "delivery_address", "confidence": 0.01},
                    ],
                    "out_of_scope": False,
                    "reply": "You can follow your order any time from the 'My orders' page.",
                    "quick_replies": ["Track my order", "Talk to a person"],
                    "handoff": False,
                    "parts": [{"type": "text", "plugin": "text", "slots": ["text"], "details": {}}],
                    "timings_ms": {"preprocess": 0.2, "encode": 9.1, "classify": 0.4},
                }
            ]
        }
    )

    conversation_id: str
    message_id: str
    intent: str
    confidence: float
    ranking: list[RankedIntentOut]
    out_of_scope: bool
    reply: str
    quick_replies: list[str]
    handoff: bool
    answered_by: str = Field(
        default="template", description="template, knowledge, fallback or handoff."
    )
    sources: list[SourceOut] = Field(default_factory=list)
    parts: list[PartOut]
    timings_ms: dict[str, float]
    token: str | None = Field(
        default=None,
        description="Only when this message created the conversation: its token, needed "
        "(as `Authorization: Bearer`) to send more messages to it or read it.",
    )


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
