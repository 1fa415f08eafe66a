"""Conversation history: the ``ConversationStore`` interface and its in-memory implementation.

The Redis implementation (``fusiondesk.service.conversations.redis_store``) keeps the same data
across API processes and restarts. A store holds, per conversation, who may read it
(``ConversationMeta``) and its
turns, oldest first, and hands out a per-conversation lock so that two messages of one
conversation are handled one after the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from fusiondesk.service.conversations.pending import PendingMessage, pending_key
from fusiondesk.service.errors import NotReadyError


class ConversationBusyError(NotReadyError):
    """The conversation's lock stayed taken longer than the lock timeout: a passing state (a
    retried copy of a message still being answered), so a 503 with ``Retry-After`` like the
    others, and an accepted message stays recorded to be answered."""

    code = "conversation_busy"


@dataclass
class Turn:
    """One customer message and the bot's answer to it."""

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
    sequence: int = 0
    """1-based position in the conversation, as its handler saw it (under the lock)."""
    text: str | None = None
    """What the customer typed (text parts joined)."""
    transcript: str | None = None
    language: str | None = None
    ocr: str | None = None
    quick_replies: list[str] = field(default_factory=list)
    handoff: bool = False
    """The conversation was flagged for a human at this turn."""
    replied_at: float | None = None
    kind: str = "exchange"
    """``exchange`` (a customer message and the bot's answer, empty while a person has the
    conversation), ``agent`` (an agent's reply, in ``reply``) or ``note`` (an agent's internal
    note, never shown to the customer)."""
    agent: str | None = None
    """The agent who wrote an ``agent`` or ``note`` entry."""
    ranking: list[dict[str, Any]] = field(default_factory=list)
    """The model's intent ranking of the customer's message (what an agent reads)."""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    """Files an agent sent with a reply: ``{key, media_type, name, size}``, the bytes kept
    with the conversation's media under ``key``."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class ConversationMeta:
    """Who a conversation belongs to: the sha256 of its token, and the API key that made it."""

    created_at: float
    token_sha256: str | None = None
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationMeta:
        return cls(
            created_at=float(data["created_at"]),
            token_sha256=data.get("token_sha256") or None,
            owner=data.get("owner") or None,
        )


HANDED_OFF = ("waiting", "agent")
"""States in which a person, not the bot, answers the conversation."""


@dataclass(frozen=True)
class ConversationState:
    """Who answers a conversation: ``bot``, ``waiting`` (handed off), ``agent`` (claimed by
    ``agent``) or ``resolved``. ``version`` counts its changes: a change is written only if
    the version is still the one it was made from (compare-and-set)."""

    state: str = "bot"
    version: int = 0
    agent: str | None = None
    reason: str | None = None
    intent: str | None = None
    confidence: float | None = None
    handed_off_at: float | None = None
    updated_at: float | None = None
    """Last activity (a message, a claim, a reply): what auto-resolve measures."""
    acknowledged: bool = False
    reminded: bool = False
    first_agent_reply_at: float | None = None

    @property
    def handed_off(self) -> bool:
        return self.state in HANDED_OFF

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationState:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


class ConversationStore(Protocol):
    async def create(self, conversation_id: str, meta: ConversationMeta) -> bool:
        """Record a conversation's owner unless it exists; True if this call created it."""
        ...

    async def meta(self, conversation_id: str) -> ConversationMeta | None: ...

    async def append(self, conversation_id: str, turn: Turn) -> int:
        """Store a turn; returns how many turns the conversation has had (``count``)."""
        ...

    async def count(self, conversation_id: str) -> int:
        """How many turns the conversation has had, including any trimmed away."""
        ...

    async def turns(self, conversation_id: str, last: int | None = None) -> list[Turn]:
        """The conversation's turns, oldest first; only the ``last`` ones when given."""
        ...

    def lock(self, conversation_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Held while one message of the conversation is handled."""
        ...

    async def state(self, conversation_id: str) -> ConversationState:
        """Who answers the conversation (``bot`` for one never handed off)."""
        ...

    async def swap_state(
        self, conversation_id: str, expected_version: int, new: ConversationState
    ) -> bool:
        """Write ``new`` only if the stored version is still ``expected_version`` (one atomic
        step across API processes); False if another change came first."""
        ...

    async def handed_off(self) -> list[str]:
        """Ids of the conversations waiting for or with an agent, oldest handoff first."""
        ...

    async def keep_media(
        self, conversation_id: str, key: str, media_type: str, data: bytes
    ) -> None:
        """Keep a customer's audio or image for the agents (handed-off conversations only), or
        a file an agent sent the customer."""
        ...

    async def media(self, conversation_id: str, key: str) -> tuple[str, bytes] | None:
        """(media type, bytes) kept under ``key``, if any."""
        ...

    async def close(self) -> None: ...

    async def find_turn(self, conversation_id: str, message_id: str) -> Turn | None:
        """The kept turn that answered ``message_id``, if any (a retried message)."""
        ...

    async def ping(self) -> None:
        """Raises ``StoreUnavailableError`` when the store cannot be reached."""
        ...

    async def add_pending(self, message: PendingMessage) -> None:
        """Record a message accepted and not yet answered (see ``pending``)."""
        ...

    async def remove_pending(self, conversation_id: str, message_id: str) -> None: ...

    async def pending(self) -> list[PendingMessage]:
        """Every message accepted and not yet answered, oldest first."""
        ...

    async def delete_if_empty(self, conversation_id: str) -> bool:
        """Forget a conversation that has no turn (its first message was refused), so its id
        is free again; True if it was forgotten."""
        ...


class InMemoryConversationStore:
    """Keeps the last ``max_turns`` turns of the ``max_conversations`` most recent
    conversations in this process (the embedded default)."""

    def __init__(
        self,
        max_turns: int = 200,
        max_conversations: int = 100_000,
        lock_timeout_seconds: float = 30.0,
    ) -> None:
        self._max_turns = max_turns
        self._max_conversations = max_conversations
        self._lock_timeout = lock_timeout_seconds
        self._turns: OrderedDict[str, deque[Turn]] = OrderedDict()
        self._meta: dict[str, ConversationMeta] = {}
        self._counts: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}
        self._states: dict[str, ConversationState] = {}
        self._media: dict[str, dict[str, tuple[str, bytes]]] = {}
        # Lost with the process, like everything here: a restart answers none of them.
        self._pending: dict[str, PendingMessage] = {}

    async def create(self, conversation_id: str, meta: ConversationMeta) -> bool:
        if conversation_id in self._meta:
            return False
        self._meta[conversation_id] = meta
        self._history(conversation_id)
        return True

    async def meta(self, conversation_id: str) -> ConversationMeta | None:
        return self._meta.get(conversation_id)

    async def append(self, conversation_id: str, turn: Turn) -> int:
        self._history(conversation_id).append(turn)
        self._counts[conversation_id] = self._counts.get(conversation_id, 0) + 1
        return self._counts[conversation_id]

    async def count(self, conversation_id: str) -> int:
        return self._counts.get(conversation_id, 0)

    async def turns(self, conversation_id: str, last: int | None = None) -> list[Turn]:
        history = list(self._turns.get(conversation_id, ()))
        if last is None:
            return history
        return history[-last:] if last > 0 else []

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        self._waiters[conversation_id] = self._waiters.get(conversation_id, 0) + 1
        try:
            try:
                await asyncio.wait_for(lock.acquire(), self._lock_timeout)
            except TimeoutError as error:
                raise ConversationBusyError(
                    "Another message of this conversation is still being handled."
                ) from error
            try:
                yield
            finally:
                lock.release()
        finally:
            # Forget the lock once nobody waits for it, so idle conversations cost nothing.
            self._waiters[conversation_id] -= 1
            if not self._waiters[conversation_id]:
                del self._waiters[conversation_id], self._locks[conversation_id]

    async def state(self, conversation_id: str) -> ConversationState:
        return self._states.get(conversation_id, ConversationState())

    async def swap_state(
        self, conversation_id: str, expected_version: int, new: ConversationState
    ) -> bool:
        # No await between the check and the write: atomic on the event loop, as the lock
        # would make it, without making every reader wait.
        if self._states.get(conversation_id, ConversationState()).version != expected_version:
            return False
        self._states[conversation_id] = new
        return True

    async def handed_off(self) -> list[str]:
        waiting = [(s.handed_off_at or 0.0, cid) for cid, s in self._states.items() if s.handed_off]
        return [cid for _, cid in sorted(waiting)]

    async def keep_media(
        self, conversation_id: str, key: str, media_type: str, data: bytes
    ) -> None:
        self._media.setdefault(conversation_id, {})[key] = (media_type, data)

    async def media(self, conversation_id: str, key: str) -> tuple[str, bytes] | None:
        return self._media.get(conversation_id, {}).get(key)

    async def close(self) -> None:
        self._media.clear()
        self._states.clear()
        self._turns.clear()
        self._meta.clear()
        self._counts.clear()

    async def find_turn(self, conversation_id: str, message_id: str) -> Turn | None:
        # Newest first: a retry comes soon after its original.
        for turn in reversed(self._turns.get(conversation_id, ())):
            if turn.message_id == message_id:
                return turn
        return None

    async def ping(self) -> None:
        """Always reachable: it lives in this process."""

    async def add_pending(self, message: PendingMessage) -> None:
        self._pending[message.key] = message

    async def remove_pending(self, conversation_id: str, message_id: str) -> None:
        self._pending.pop(pending_key(conversation_id, message_id), None)

    async def pending(self) -> list[PendingMessage]:
        return sorted(self._pending.values(), key=lambda message: message.accepted_at)

    async def delete_if_empty(self, conversation_id: str) -> bool:
        if self._counts.get(conversation_id, 0) or conversation_id not in self._meta:
            return False
        del self._meta[conversation_id]
        self._turns.pop(conversation_id, None)
        return True

    def _history(self, conversation_id: str) -> deque[Turn]:
        history = self._turns.get(conversation_id)
        if history is None:
            history = self._turns[conversation_id] = deque(maxlen=self._max_turns)
            if len(self._turns) > self._max_conversations:
                oldest, _ = self._turns.popitem(last=False)
                self._meta.pop(oldest, None)
                self._media.pop(oldest, None)
                self._states.pop(oldest, None)
                self._counts.pop(oldest, None)
        else:
            self._turns.move_to_end(conversation_id)
        return history
