"""Everything a running service holds, built from settings: plugins, executor, model, replies."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plugins import Part, PluginRegistry
from service.conversations import ConversationStore, InMemoryConversationStore, Turn
from service.demo import DEMO_DOMAIN
from service.errors import NotReadyError
from service.executor import Executor, InlineExecutor
from service.fusion import IntentClassifier
from service.ratelimit import InMemoryRateLimiter, RateLimiter
from service.responder import DOMAIN_FILE, Domain, Reply, TemplateResponder
from service.router import Router, Understanding
from service.settings import Settings


def build_registry(settings: Settings) -> PluginRegistry:
    return PluginRegistry.discover(
        configs=settings.plugins,
        device=settings.device,
        autoload_third_party=not settings.disable_plugin_autoload,
        disabled=settings.disabled_plugins,
    )


def build_executor(settings: Settings, registry: PluginRegistry) -> Executor:
    return InlineExecutor(registry)


def build_stores(settings: Settings) -> tuple[ConversationStore, RateLimiter]:
    """Conversation history and rate limits: in this process, or shared through Redis."""
    options = settings.conversations
    if settings.store == "redis":
        from redis.asyncio import Redis

        from service.ratelimit import RedisRateLimiter
        from service.redis_store import RedisConversationStore

        redis = Redis.from_url(settings.redis_url)
        store = RedisConversationStore(
            redis,
            max_turns=options.max_turns,
            ttl_seconds=options.ttl_seconds,
            lock_timeout_seconds=options.lock_timeout_seconds,
        )
        return store, RedisRateLimiter(redis)
    memory = InMemoryConversationStore(
        max_turns=options.max_turns, lock_timeout_seconds=options.lock_timeout_seconds
    )
    return memory, InMemoryRateLimiter()


def domain_path(settings: Settings) -> Path:
    """The settings' domain file, else the one saved beside the model, else the demo's."""
    if settings.domain_path is not None:
        return settings.domain_path
    beside_model = settings.resolved_model_dir / DOMAIN_FILE
    return beside_model if beside_model.is_file() else DEMO_DOMAIN


@dataclass(frozen=True)
class HandledMessage:
    conversation_id: str
    message_id: str
    understanding: Understanding
    reply: Reply
    turn: int


OnUnderstood = Callable[[Understanding], Awaitable[None]]
"""Called once the parts are understood, before the reply is made (real-time transcripts)."""


class Runtime:
    def __init__(
        self,
        settings: Settings,
        registry: PluginRegistry,
        executor: Executor,
        store: ConversationStore,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.executor = executor
        self.store = store
        self.limiter = limiter or InMemoryRateLimiter()
        self.responder = TemplateResponder(Domain.load(domain_path(settings)))
        self._router: Router | None = None
        self.load_error: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        registry = build_registry(settings)
        store, limiter = build_stores(settings)
        return cls(settings, registry, build_executor(settings, registry), store, limiter)

    @property
    def ready(self) -> bool:
        return self._router is not None

    async def start(self) -> None:
        """Load the intent model and warm the plugins; the service reports ready afterwards."""
        try:
            classifier = await asyncio.to_thread(
                IntentClassifier.load,
                self.settings.resolved_model_dir,
                threshold=self.settings.confidence_threshold,
            )
            await self.executor.warm_up()
        except Exception as error:
            self.load_error = str(error)
            raise
        self._router = Router(self.registry, self.executor, classifier)

    async def close(self) -> None:
        await self.executor.close()
        await self.store.close()

    @property
    def router(self) -> Router:
        if self._router is None:
            raise NotReadyError(self.load_error or "Models are still loading; try again shortly.")
        return self._router

    async def handle(
        self,
        conversation_id: str,
        parts: Sequence[Part],
        message_id: str | None = None,
        *,
        on_understood: OnUnderstood | None = None,
    ) -> HandledMessage:
        """Understand a message and reply, one message of a conversation at a time (across
        API processes with the Redis store), so each reply sees every earlier turn."""
        message_id = message_id or uuid.uuid4().hex
        async with self.store.lock(conversation_id):
            created_at = time.time()
            understanding = await self.router.understand(parts)
            if on_understood is not None:
                await on_understood(understanding)
            sequence = await self.store.count(conversation_id) + 1
            # The responder's context is store.turns(conversation_id, last=context_turns).
            reply = self.responder.respond(
                understanding.prediction, conversation_id=conversation_id, turn=sequence - 1
            )
            turn = await self.store.append(
                conversation_id,
                _record(message_id, sequence, parts, understanding, reply, created_at),
            )
        return HandledMessage(conversation_id, message_id, understanding, reply, turn)


def _record(
    message_id: str,
    sequence: int,
    parts: Sequence[Part],
    understanding: Understanding,
    reply: Reply,
    created_at: float,
) -> Turn:
    prediction = understanding.prediction
    return Turn(
        message_id=message_id,
        sequence=sequence,
        text=" ".join(p.text for p in parts if p.type == "text" and p.text) or None,
        parts=[
            {"type": r.type, "plugin": r.plugin, "details": r.details} for r in understanding.parts
        ],
        transcript=_joined_detail(understanding, "transcript"),
        language=_joined_detail(understanding, "language"),
        ocr=_joined_detail(understanding, "ocr"),
        intent=prediction.intent,
        confidence=prediction.confidence,
        out_of_scope=prediction.out_of_scope,
        reply=reply.text,
        quick_replies=list(reply.quick_replies),
        handoff=reply.handoff,
        created_at=created_at,
        replied_at=time.time(),
        timings_ms=understanding.timings_ms,
    )


def _joined_detail(understanding: Understanding, key: str) -> str | None:
    """A text detail of the parts (a voice transcript, an image's OCR text), joined."""
    found = []
    for part in understanding.parts:
        value = part.details.get(key)
        if isinstance(value, list):
            value = " ".join(str(item) for item in value)
        if isinstance(value, str) and value.strip():
            found.append(value.strip())
    return " ".join(found) or None
