"""Conversation history. The embedded default keeps it in memory."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Turn:
    message_id: str
    parts: list[dict[str, Any]]
    intent: str
    confidence: float
    out_of_scope: bool
    reply: str
    created_at: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    answered_by: str = "template"
    """What produced the reply: template, knowledge, fallback or handoff."""
    handoff: bool = False
    """The conversation was flagged for a human at this turn."""


class ConversationStore(Protocol):
    async def append(self, conversation_id: str, turn: Turn) -> int:
        """Store a turn; returns the number of turns the conversation now has."""
        ...

    async def turns(self, conversation_id: str) -> list[Turn]: ...

    async def close(self) -> None: ...


class InMemoryConversationStore:
    """Keeps the last ``max_turns`` turns of each conversation in this process."""

    def __init__(self, max_turns: int = 200) -> None:
        self._turns: defaultdict[str, deque[Turn]] = defaultdict(lambda: deque(maxlen=max_turns))
        self._lock = asyncio.Lock()

    async def append(self, conversation_id: str, turn: Turn) -> int:
        async with self._lock:
            history = self._turns[conversation_id]
            history.append(turn)
            return len(history)

    async def turns(self, conversation_id: str) -> list[Turn]:
        async with self._lock:
            return list(self._turns.get(conversation_id, ()))

    async def close(self) -> None:
        self._turns.clear()
