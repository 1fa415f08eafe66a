"""Everything a running service holds, built from settings, and the handling of a message.

``Runtime`` composes the served model (``serving.ModelServer``: plugins, executor, router,
replies) with the conversation store, and ``handle`` runs a message through them. Building
the plugins and the executor is ``understanding.wiring``'s job and recording a turn is
``conversations.turns``'s; rate limits belong to the API (``api.ratelimit``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fusiondesk.plugins import Part, PluginRegistry
from fusiondesk.plugins.text import TEXT_SLOT, TextConfig
from fusiondesk.service.aio import stop_task
from fusiondesk.service.conversations import build_store
from fusiondesk.service.conversations.pending import PendingMessage
from fusiondesk.service.conversations.store import ConversationStore, Turn
from fusiondesk.service.conversations.turns import message_text, record_turn
from fusiondesk.service.errors import NotReadyError
from fusiondesk.service.handoff.desk import HandoffDesk
from fusiondesk.service.handoff.events import EventBus, build_bus
from fusiondesk.service.ids import new_message_id
from fusiondesk.service.inflight import InFlight
from fusiondesk.service.replies.responder import ReplyRequest, Responder
from fusiondesk.service.replies.templates import Reply
from fusiondesk.service.serving import ModelServer
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import Executor
from fusiondesk.service.understanding.fusion import IntentClassifier, Prediction, RankedIntent
from fusiondesk.service.understanding.router import PartResult, Router, Understanding
from fusiondesk.service.understanding.wiring import (
    build_executor,
    build_model_registry,
)

logger = logging.getLogger(__name__)

__all__ = [
    "HandledMessage",
    "OnUnderstood",
    "Runtime",
]


@dataclass(frozen=True)
class HandledMessage:
    conversation_id: str
    message_id: str
    understanding: Understanding
    reply: Reply
    turn: int
    replayed: bool = False
    """The message id was answered before: this is the stored answer, not a new turn."""


OnUnderstood = Callable[[Understanding], Awaitable[None]]
"""Called once the parts are understood, before the reply is made (real-time transcripts)."""


class Runtime:
    def __init__(
        self,
        settings: Settings,
        registry: PluginRegistry,
        executor: Executor,
        store: ConversationStore,
        bus: EventBus | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.models = ModelServer(settings, registry, executor)
        self.bus = bus or EventBus()
        """Live handoff events (Redis pub/sub across API processes with the Redis store)."""
        self.desk = HandoffDesk(store, self.bus, settings)
        self._policies: asyncio.Task[None] | None = None
        self.in_flight = InFlight()
        self._resuming: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        registry = build_model_registry(settings, settings.resolved_model_dir)
        executor = build_executor(settings, registry)
        return cls(settings, registry, executor, build_store(settings), build_bus(settings))

    # The served model's parts, read through the runtime by the API, the CLI and the tests;
    # a reload replaces them, so they are looked up on each use.
    @property
    def registry(self) -> PluginRegistry:
        return self.models.registry

    @property
    def executor(self) -> Executor:
        return self.models.executor

    @property
    def responder(self) -> Responder:
        return self.models.responder

    @property
    def router(self) -> Router:
        return self.models.router

    @property
    def model_dir(self) -> Path:
        return self.models.model_dir

    @property
    def ready(self) -> bool:
        return self.models.ready

    @property
    def load_error(self) -> str | None:
        return self.models.load_error

    async def start(self) -> None:
        await self.bus.start()
        if self._policies is None:
            self._policies = asyncio.create_task(self.desk.run_policies())
        await self.models.start()
        self._resuming = asyncio.create_task(self.resume_accepted())

    async def reload_model(self, model_dir: Path) -> IntentClassifier:
        return await self.models.reload_model(model_dir)

    async def close(self) -> None:
        if self._policies is not None:
            await stop_task(self._policies)
        await self.desk.close()
        await self.bus.close()
        if self._resuming is not None:
            await stop_task(self._resuming)
        await self.models.close()
        await self.store.close()

    def reply_request(
        self,
        conversation_id: str,
        parts: Sequence[Part],
        understanding: Understanding,
        history: Sequence[Turn],
        turn: int,
    ) -> ReplyRequest:
        """What the responder needs for a message; ``responder.stream`` it to send chunks."""
        return ReplyRequest(
            understanding.prediction,
            conversation_id,
            turn=turn,
            text=message_text(parts, understanding.parts),
            history=list(history),
            text_vector=self._question_vector(parts, understanding),
        )

    def _question_vector(
        self, parts: Sequence[Part], understanding: Understanding
    ) -> np.ndarray | None:
        """The router's vector of a message that is one typed text, when the knowledge base's
        encoder is the text plugin's: then searching it equals embedding the text again."""
        knowledge = self.responder.knowledge
        if knowledge is None or len(parts) != 1 or parts[0].type != "text":
            return None
        plugin = self.registry.for_part_type("text")
        config = plugin.config
        vector = understanding.slots.get(TEXT_SLOT)
        if vector is None or not isinstance(config, TextConfig) or knowledge.encoder_path is None:
            return None
        return vector if same_file(config.model_path, knowledge.encoder_path) else None

    async def _keep_media_for_agents(
        self, conversation_id: str, parts: Sequence[Part], record: Turn
    ) -> None:
        """Audio and images of a handed-off conversation, for the agent to play and see; the
        turn's part says where (``media``). Only then: a bot conversation keeps no bytes."""
        for index, (part, shown) in enumerate(zip(parts, record.parts, strict=False)):
            if part.data is None or part.type != shown.get("type"):
                continue
            key = f"{record.message_id}.{index}"
            media_type = part.media_type or "application/octet-stream"
            await self.store.keep_media(conversation_id, key, media_type, part.data)
            shown["media"] = key

    async def handle(
        self,
        conversation_id: str,
        parts: Sequence[Part],
        message_id: str | None = None,
        *,
        on_understood: OnUnderstood | None = None,
    ) -> HandledMessage:
        """Understand a message and reply, one message of a conversation at a time (across
        API processes with the Redis store), so each reply sees every earlier turn. While a
        person has the conversation the bot only stores it (``held``) for the agents.

        A ``message_id`` the conversation has answered before gets that answer again, looked
        up under the lock, so a retry (or two racing copies) never makes a second turn.
        """
        async with self.in_flight.track():
            return await self._handle(conversation_id, parts, message_id, on_understood)

    async def accept(self, conversation_id: str, message_id: str, parts: Sequence[Part]) -> None:
        """Record a message before acknowledging it, so that it is answered even if this process
        stops first: by ``handle_accepted`` here, or by the next process's ``resume_accepted``."""
        await self.store.add_pending(PendingMessage(conversation_id, message_id, list(parts)))

    async def handle_accepted(
        self,
        conversation_id: str,
        message_id: str,
        parts: Sequence[Part],
        *,
        on_understood: OnUnderstood | None = None,
    ) -> HandledMessage:
        """``handle`` an accepted message; its record goes once it is answered or refused for
        good, and stays through a passing fault (503: stopping, store or broker down)."""
        try:
            handled = await self.handle(
                conversation_id, parts, message_id, on_understood=on_understood
            )
        except NotReadyError:
            raise
        except Exception:
            await self._forget_accepted(conversation_id, message_id)
            raise
        await self._forget_accepted(conversation_id, message_id)
        return handled

    async def resume_accepted(self) -> None:
        """Answer the messages a stopped process accepted and left unanswered (into their
        conversations' history; a retry of one by its client is the same turn)."""
        try:
            left = await self.store.pending()
        except NotReadyError as error:
            logger.warning("cannot read the accepted messages to resume: %s", error)
            return
        for message in left:
            try:
                await self.handle_accepted(
                    message.conversation_id, message.message_id, message.parts
                )
            except Exception as error:  # answered with an error, or left for the next start
                logger.warning("resuming message %s failed: %s", message.message_id, error)
        if left:
            logger.info("resumed %d accepted messages", len(left))

    async def _forget_accepted(self, conversation_id: str, message_id: str) -> None:
        try:
            await self.store.remove_pending(conversation_id, message_id)
        except NotReadyError as error:  # resumed later: then answered from the stored turn
            logger.warning("could not clear accepted message %s: %s", message_id, error)

    async def _handle(
        self,
        conversation_id: str,
        parts: Sequence[Part],
        message_id: str | None,
        on_understood: OnUnderstood | None,
    ) -> HandledMessage:
        retried = message_id is not None
        message_id = message_id or new_message_id()
        async with self.store.lock(conversation_id):
            if retried and (seen := await self.store.find_turn(conversation_id, message_id)):
                return replayed_message(conversation_id, seen)
            created_at = time.time()
            understanding = await self.router.understand(parts)
            if on_understood is not None:
                await on_understood(understanding)
            sequence = await self.store.count(conversation_id) + 1
            state = await self.store.state(conversation_id)
            if state.handed_off:
                reply = await self.desk.held_reply(conversation_id, state)
            else:
                history = await self.store.turns(
                    conversation_id, last=self.settings.responder.context_turns
                )
                reply = await self.responder.respond(
                    self.reply_request(conversation_id, parts, understanding, history, sequence - 1)
                )
                if reply.handoff:
                    reply = self.desk.handoff_reply(reply)
            record = record_turn(message_id, sequence, parts, understanding, reply, created_at)
            if state.handed_off or reply.handoff:
                await self._keep_media_for_agents(conversation_id, parts, record)
            turn = await self.store.append(conversation_id, record)
            if state.handed_off:
                await self.desk.customer_wrote(conversation_id, record)
            elif reply.handoff:
                reason = reply.handoff_reason or "requested"
                await self.desk.hand_off(conversation_id, reason, understanding.prediction)
        return HandledMessage(conversation_id, message_id, understanding, reply, turn)


@functools.lru_cache(maxsize=16)
def same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file; kept, since resolving costs syscalls on every message
    while the encoders' paths only change with a restart."""
    return first.resolve() == second.resolve()


def replayed_message(conversation_id: str, turn: Turn) -> HandledMessage:
    """A stored turn as the answer to its retried message (no vectors or sources: not kept)."""
    prediction = Prediction(
        intent=turn.intent,
        confidence=turn.confidence,
        ranking=[RankedIntent(turn.intent, turn.confidence)],
        out_of_scope=turn.out_of_scope,
    )
    understanding = Understanding(
        prediction,
        [PartResult(p["type"], p["plugin"], [], p.get("details", {})) for p in turn.parts],
        dict(turn.timings_ms),
    )
    reply = Reply(
        turn.reply,
        quick_replies=list(turn.quick_replies),
        handoff=turn.handoff,
        answered_by=turn.answered_by,  # type: ignore[arg-type]  # stored from an AnsweredBy
    )
    return HandledMessage(
        conversation_id, turn.message_id, understanding, reply, turn.sequence, replayed=True
    )
