"""The agents' desk: every change of who answers a conversation, and what it tells whom.

States: ``bot`` → ``waiting`` (handed off) → ``agent`` (claimed by a named agent) →
``resolved``, or back to ``bot``. Each change is a compare-and-set on the state's version
(``ConversationStore.swap_state``): read, check the rule, write only if nobody changed it
meanwhile, else read again. So two agents claiming at once, even on two API processes, get
one ``agent`` state and one 409.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fusiondesk.service.conversations.store import (
    ConversationState,
    ConversationStore,
    Turn,
)
from fusiondesk.service.errors import FusionDeskError
from fusiondesk.service.handoff.events import AGENTS, EventBus, conversation_channel
from fusiondesk.service.handoff.hours import is_open
from fusiondesk.service.ids import new_message_id
from fusiondesk.service.observability import (
    FIRST_AGENT_REPLY,
    HANDOFF_QUEUE,
    HANDOFFS_BY_REASON,
    RESOLVED,
)
from fusiondesk.service.replies.templates import Reply
from fusiondesk.service.replies.webhooks import WebhookNotifier
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.fusion import Prediction

logger = logging.getLogger(__name__)

MAX_SWAP_ATTEMPTS = 16
"""Re-reads a change may take when other changes keep winning the race (each one is a write)."""


class HandoffConflictError(FusionDeskError):
    """The change does not fit the conversation's state (claimed by another agent, not
    handed off, already resolved)."""

    code = "handoff_conflict"
    status = 409


@dataclass(frozen=True)
class QueueEntry:
    """A handed-off conversation as the agents' queue lists it."""

    conversation_id: str
    state: str
    agent: str | None
    reason: str | None
    intent: str | None
    confidence: float | None
    last_message: str | None
    handed_off_at: float
    waiting_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


Change = Callable[[ConversationState], ConversationState | None]
"""A state's successor (its version is set by the desk), None for no change, or raises."""


@dataclass(frozen=True)
class AgentFile:
    """A file an agent sends with a reply, its type already checked by its bytes."""

    name: str
    media_type: str
    data: bytes


class HandoffDesk:
    def __init__(self, store: ConversationStore, bus: EventBus, settings: Settings) -> None:
        self.store = store
        self.bus = bus
        self.settings = settings.handoff
        self.webhook_url = settings.responder.handoff_webhook_url
        self.notifier = WebhookNotifier(timeout_s=settings.responder.webhook_timeout_s)

    # The bot's side (called by the runtime under the conversation's lock).

    def handoff_reply(self, reply: Reply, now: float | None = None) -> Reply:
        """The bot's handoff reply, or the out-of-hours reply when nobody is there."""
        if is_open(self.settings.business_hours, now or time.time()):
            return reply
        return replace(reply, text=self.settings.out_of_hours_reply, quick_replies=[])

    async def hand_off(self, conversation_id: str, reason: str, prediction: Prediction) -> None:
        """Move the conversation to ``waiting`` (once its handoff turn is stored)."""
        now = time.time()

        def to_waiting(state: ConversationState) -> ConversationState | None:
            if state.handed_off:
                return None
            return ConversationState(
                "waiting",
                reason=reason,
                intent=prediction.intent,
                confidence=prediction.confidence,
                handed_off_at=now,
                updated_at=now,
            )

        if await self._change(conversation_id, to_waiting) is None:
            return
        HANDOFFS_BY_REASON.labels(reason).inc()
        await self.bus.publish(
            AGENTS,
            {
                "event": "handoff",
                "conversation_id": conversation_id,
                "reason": reason,
                "intent": prediction.intent,
                "confidence": prediction.confidence,
                "handed_off_at": now,
            },
        )

    async def held_reply(self, conversation_id: str, state: ConversationState) -> Reply:
        """What the bot says to a message while a person has the conversation: the
        acknowledgement, once, while nobody has claimed it yet; otherwise nothing."""
        text = self.settings.acknowledgement
        if state.state != "waiting" or state.acknowledged or not text:
            return Reply("", answered_by="held")

        def acknowledge(current: ConversationState) -> ConversationState | None:
            return None if current.acknowledged else replace(current, acknowledged=True)

        changed = await self._change(conversation_id, acknowledge)
        return Reply(text if changed is not None else "", answered_by="held")

    async def customer_wrote(self, conversation_id: str, turn: Turn) -> None:
        """A stored customer message of a handed-off conversation: show it to the agents."""
        await self._touch(conversation_id)
        await self.bus.publish(
            AGENTS,
            {
                "event": "customer_message",
                "conversation_id": conversation_id,
                "turn": turn.to_dict(),
            },
        )

    # The agents' side.

    async def queue(self) -> list[QueueEntry]:
        """Handed-off conversations: waiting ones first, then claimed ones, oldest first."""
        now = time.time()
        entries: list[QueueEntry] = []
        for conversation_id in await self.store.handed_off():
            state = await self.store.state(conversation_id)
            if not state.handed_off:
                continue
            last = await self.store.turns(conversation_id, last=1)
            handed_off_at = state.handed_off_at or now
            entries.append(
                QueueEntry(
                    conversation_id,
                    state.state,
                    state.agent,
                    state.reason,
                    state.intent,
                    state.confidence,
                    _words(last[0]) if last else None,
                    handed_off_at,
                    round(now - handed_off_at, 3),
                )
            )
        entries.sort(key=lambda entry: (entry.state != "waiting", entry.handed_off_at))
        for name in ("waiting", "agent"):
            HANDOFF_QUEUE.labels(name).set(sum(entry.state == name for entry in entries))
        return entries

    async def claim(self, conversation_id: str, agent: str) -> ConversationState:
        def to_agent(state: ConversationState) -> ConversationState | None:
            if state.state == "agent" and state.agent == agent:
                return None
            if state.state != "waiting":
                raise _conflict(state, "claim")
            return replace(state, state="agent", agent=agent, updated_at=time.time())

        changed = await self._change(conversation_id, to_agent)
        if changed is not None:
            event = {"event": "agent_joined", "conversation_id": conversation_id, "agent": agent}
            await self._publish_both(conversation_id, event)
        return changed or await self.store.state(conversation_id)

    async def reply(
        self, conversation_id: str, agent: str, text: str, files: Sequence[AgentFile] = ()
    ) -> Turn:
        """An agent's reply, stored in the history and sent to the customer. Its files are kept
        with the conversation's media first, so no stored or sent reply points at a missing
        file."""
        state = await self.store.state(conversation_id)
        _check_holder(state, agent, "reply")
        message_id = new_message_id()
        attachments: list[dict[str, Any]] = []
        for index, file in enumerate(files):
            key = f"{message_id}.{index}"
            await self.store.keep_media(conversation_id, key, file.media_type, file.data)
            attachments.append(
                {
                    "key": key,
                    "media_type": file.media_type,
                    "name": file.name,
                    "size": len(file.data),
                }
            )
        turn = await self._append(
            conversation_id, "agent", agent, text, message_id=message_id, attachments=attachments
        )
        # Sent as soon as it is stored; the state's bookkeeping follows, off the customer's path.
        event = {"event": "agent_message", "conversation_id": conversation_id}
        await self._publish_both(conversation_id, {**event, "turn": turn.to_dict()})
        now = time.time()
        waited: list[float] = []

        def record_reply(current: ConversationState) -> ConversationState:
            # Read in the compare-and-set: two first replies at once count once.
            waited.clear()
            if current.first_agent_reply_at is None and current.handed_off_at is not None:
                waited.append(max(0.0, now - current.handed_off_at))
            first = current.first_agent_reply_at or now
            return replace(current, updated_at=now, first_agent_reply_at=first)

        await self._change(conversation_id, record_reply)
        for seconds in waited:
            FIRST_AGENT_REPLY.observe(seconds)
        return turn

    async def note(self, conversation_id: str, agent: str, text: str) -> Turn:
        """An internal note: in the history the agents read, never sent to the customer."""
        turn = await self._append(conversation_id, "note", agent, text)
        await self.bus.publish(
            AGENTS, {"event": "note", "conversation_id": conversation_id, "turn": turn.to_dict()}
        )
        return turn

    async def typing(self, conversation_id: str, agent: str) -> None:
        _check_holder(await self.store.state(conversation_id), agent, "type")
        await self.bus.publish(
            conversation_channel(conversation_id),
            {"event": "agent_typing", "conversation_id": conversation_id, "agent": agent},
        )

    async def hand_back(self, conversation_id: str, agent: str) -> ConversationState:
        """Back to the bot, which answers the next message with the whole history."""

        def to_bot(state: ConversationState) -> ConversationState:
            if not state.handed_off:
                raise _conflict(state, "hand back")
            if state.state == "agent":
                _check_holder(state, agent, "hand back")
            return ConversationState("bot", updated_at=time.time())

        changed = await self._change(conversation_id, to_bot)
        event = {"event": "handed_back", "conversation_id": conversation_id, "agent": agent}
        await self._publish_both(conversation_id, event)
        return changed or await self.store.state(conversation_id)

    async def resolve(self, conversation_id: str, agent: str) -> ConversationState:
        held_by: list[str] = []

        def to_resolved(state: ConversationState) -> ConversationState:
            if state.state == "resolved":
                raise _conflict(state, "resolve")
            if state.state == "agent":
                _check_holder(state, agent, "resolve")
            held_by[:] = ["agent" if state.handed_off else "bot"]
            return ConversationState("resolved", agent=agent, updated_at=time.time())

        changed = await self._change(conversation_id, to_resolved)
        RESOLVED.labels(held_by[0]).inc()
        event = {"event": "resolved", "conversation_id": conversation_id, "agent": agent}
        await self._publish_both(conversation_id, event)
        return changed or await self.store.state(conversation_id)

    # Policies: reminders and auto-resolve, checked every ``sweep_seconds``.

    async def run_policies(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_seconds)
            try:
                await self.sweep(time.time())
            except Exception as error:  # noqa: BLE001 - a store hiccup must not end the loop
                logger.warning("handoff policies: %s", type(error).__name__)

    async def sweep(self, now: float) -> None:
        """Send due reminders and resolve inactive conversations (every API process sweeps;
        the compare-and-set makes each happen once)."""
        for entry in await self.queue():
            state = await self.store.state(entry.conversation_id)
            if (
                now - (state.updated_at or entry.handed_off_at)
                >= self.settings.auto_resolve_after_seconds
            ):
                await self._auto_resolve(entry.conversation_id, state)
            elif (
                state.state == "waiting"
                and not state.reminded
                and now - entry.handed_off_at >= self.settings.reminder_after_seconds
            ):
                await self._remind(entry)

    async def close(self) -> None:
        await self.notifier.aclose()

    async def _remind(self, entry: QueueEntry) -> None:
        def mark(state: ConversationState) -> ConversationState | None:
            return (
                None
                if state.reminded or state.state != "waiting"
                else replace(state, reminded=True)
            )

        if await self._change(entry.conversation_id, mark) is None:
            return
        if self.webhook_url is not None:
            self.notifier.send(self.webhook_url, {"event": "handoff_reminder", **entry.to_dict()})

    async def _auto_resolve(self, conversation_id: str, seen: ConversationState) -> None:
        def to_resolved(state: ConversationState) -> ConversationState | None:
            if state.version != seen.version:
                return None  # something happened meanwhile: not inactive after all
            return ConversationState("resolved", updated_at=time.time())

        if await self._change(conversation_id, to_resolved) is None:
            return
        RESOLVED.labels("timeout").inc()
        await self._publish_both(
            conversation_id,
            {"event": "resolved", "conversation_id": conversation_id, "agent": None},
        )

    async def _change(self, conversation_id: str, change: Change) -> ConversationState | None:
        """Apply ``change`` by compare-and-set; the new state, or None if it changed nothing."""
        for _ in range(MAX_SWAP_ATTEMPTS):
            current = await self.store.state(conversation_id)
            successor = change(current)
            if successor is None:
                return None
            successor = replace(successor, version=current.version + 1)
            if await self.store.swap_state(conversation_id, current.version, successor):
                return successor
        raise HandoffConflictError("The conversation kept changing; try again.")

    async def _touch(self, conversation_id: str) -> None:
        now = time.time()
        await self._change(conversation_id, lambda state: replace(state, updated_at=now))

    async def _append(
        self,
        conversation_id: str,
        kind: str,
        agent: str,
        text: str,
        *,
        message_id: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> Turn:
        # Not under the conversation's lock: an agent's reply must not wait for the bot to
        # understand a customer's voice message; its sequence is the count it was written at.
        now = time.time()
        turn = Turn(
            message_id=message_id or new_message_id(),
            parts=[],
            intent="",
            confidence=0.0,
            out_of_scope=False,
            reply=text,
            created_at=now,
            replied_at=now,
            answered_by=kind,
            kind=kind,
            agent=agent,
            sequence=await self.store.count(conversation_id) + 1,
            attachments=attachments or [],
        )
        await self.store.append(conversation_id, turn)
        return turn

    async def _publish_both(self, conversation_id: str, event: dict[str, Any]) -> None:
        await self.bus.publish(conversation_channel(conversation_id), event)
        await self.bus.publish(AGENTS, event)


def _words(turn: Turn) -> str | None:
    if turn.kind != "exchange":
        return turn.reply
    return turn.text or turn.transcript or turn.ocr


def _check_holder(state: ConversationState, agent: str, action: str) -> None:
    if state.state != "agent" or state.agent != agent:
        raise _conflict(state, action)


def _conflict(state: ConversationState, action: str) -> HandoffConflictError:
    if state.state == "agent":
        return HandoffConflictError(f"Cannot {action}: {state.agent!r} has this conversation.")
    return HandoffConflictError(f"Cannot {action}: the conversation is {state.state!r}.")
