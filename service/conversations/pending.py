"""Messages accepted but not yet answered, kept in the store so that a restart loses none.

A WebSocket or SSE message is recorded here before its ``received`` event; the record goes once
the message is answered (or refused for good). An API process that stops first leaves it, and
the next one to start answers it into the conversation's history (``Runtime.resume_accepted``),
where the customer's next connection shows it. Exactly-once by message id makes the resumed
answer and a client's retry one turn.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fusiondesk.plugins import Part


@dataclass(frozen=True)
class PendingMessage:
    conversation_id: str
    message_id: str
    parts: list[Part]
    accepted_at: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        """Unique per message: ids never hold a newline."""
        return pending_key(self.conversation_id, self.message_id)

    def to_json(self) -> str:
        return json.dumps(
            {
                "conversation_id": self.conversation_id,
                "message_id": self.message_id,
                "accepted_at": self.accepted_at,
                "parts": [_part_to_dict(part) for part in self.parts],
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> PendingMessage:
        data = json.loads(text)
        return cls(
            data["conversation_id"],
            data["message_id"],
            [_part_from_dict(part) for part in data["parts"]],
            data["accepted_at"],
        )


def pending_key(conversation_id: str, message_id: str) -> str:
    return f"{conversation_id}\n{message_id}"


def _part_to_dict(part: Part) -> dict[str, Any]:
    return {
        "type": part.type,
        "text": part.text,
        "data": None if part.data is None else base64.b64encode(part.data).decode(),
        "media_type": part.media_type,
        "filename": part.filename,
        "fields": dict(part.fields),
    }


def _part_from_dict(data: dict[str, Any]) -> Part:
    raw = data.get("data")
    return Part(
        type=data["type"],
        text=data.get("text"),
        data=None if raw is None else base64.b64decode(raw),
        media_type=data.get("media_type"),
        filename=data.get("filename"),
        fields=data.get("fields") or {},
    )
