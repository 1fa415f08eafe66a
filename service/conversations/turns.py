"""What a handled message leaves in its conversation: the turn record, and the words of a
message (typed text, voice transcripts, OCR text) that slots and knowledge search read.

The reply is read through ``RepliedTurn``, the few fields a turn keeps, so conversations
depend on the understanding side only and the responder (replies/) sits above them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Protocol

from fusiondesk.plugins import Part
from fusiondesk.service.conversations.store import Turn
from fusiondesk.service.understanding.router import PartResult, Understanding

TRANSCRIPT_DETAIL = "transcript"
OCR_DETAIL = "ocr"


class RepliedTurn(Protocol):
    """The parts of a reply a turn records (``replies.domain.Reply`` has them)."""

    @property
    def text(self) -> str: ...

    @property
    def quick_replies(self) -> Sequence[str]: ...

    @property
    def handoff(self) -> bool: ...

    @property
    def answered_by(self) -> str: ...


def message_text(parts: Sequence[Part], results: Sequence[PartResult]) -> str:
    """A message's words, for slots and knowledge search: typed text, transcripts, OCR text."""
    words = [part.text for part in parts if part.text]
    for key in (TRANSCRIPT_DETAIL, OCR_DETAIL):
        words.extend(text for result in results if (text := detail_text(result.details, key)))
    return "\n".join(words)


def record_turn(
    message_id: str,
    sequence: int,
    parts: Sequence[Part],
    understanding: Understanding,
    reply: RepliedTurn,
    created_at: float,
) -> Turn:
    """The turn to append once ``reply`` is made (``replied_at`` is now)."""
    prediction = understanding.prediction
    return Turn(
        message_id=message_id,
        sequence=sequence,
        text=" ".join(p.text for p in parts if p.type == "text" and p.text) or None,
        parts=[
            {
                "type": r.type,
                "plugin": r.plugin,
                "details": r.details,
                "prediction": None if r.prediction is None else asdict(r.prediction),
            }
            for r in understanding.parts
        ],
        transcript=_joined_detail(understanding, TRANSCRIPT_DETAIL),
        language=_joined_detail(understanding, "language"),
        ocr=_joined_detail(understanding, OCR_DETAIL),
        intent=prediction.intent,
        confidence=prediction.confidence,
        out_of_scope=prediction.out_of_scope,
        ranking=[{"intent": r.intent, "confidence": r.confidence} for r in prediction.ranking],
        reply=reply.text,
        quick_replies=list(reply.quick_replies),
        handoff=reply.handoff,
        answered_by=reply.answered_by,
        created_at=created_at,
        replied_at=time.time(),
        timings_ms=understanding.timings_ms,
    )


def detail_text(details: dict[str, object], key: str) -> str | None:
    """A part's text detail: a string, a list of strings, or ``{"text": ...}`` (OCR)."""
    value = details.get(key)
    if isinstance(value, dict):
        value = value.get("text")
    if isinstance(value, list):
        value = " ".join(str(item) for item in value)
    return value.strip() or None if isinstance(value, str) else None


def _joined_detail(understanding: Understanding, key: str) -> str | None:
    """A text detail of all parts (voice transcripts, images' OCR text), joined."""
    found = [text for part in understanding.parts if (text := detail_text(part.details, key))]
    return " ".join(found) or None
