"""Everything a running service holds, built from settings: plugins, executor, model, replies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fusiondesk.plugins import Part, PluginRegistry
from fusiondesk.plugins.text import TEXT_SLOT, TextConfig
from fusiondesk.service.aio import stop_task
from fusiondesk.service.api.ratelimit import InMemoryRateLimiter, RateLimiter
from fusiondesk.service.conversations.store import (
    ConversationStore,
    InMemoryConversationStore,
    Turn,
)
from fusiondesk.service.demo import DEMO_DOMAIN
from fusiondesk.service.errors import NotReadyError
from fusiondesk.service.replies.domain import DOMAIN_FILE, Domain, Reply, TemplateResponder
from fusiondesk.service.replies.knowledge import open_knowledge_base
from fusiondesk.service.replies.responder import ReplyRequest, Responder
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import Executor, InlineExecutor
from fusiondesk.service.understanding.fusion import IntentClassifier
from fusiondesk.service.understanding.fusion.encoders import (
    model_plugin_settings,
    with_plugin_settings,
)
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE
from fusiondesk.service.understanding.router import PartResult, Router, Understanding

logger = logging.getLogger(__name__)


def build_registry(settings: Settings) -> PluginRegistry:
    return PluginRegistry.discover(
        configs=settings.plugins,
        device=settings.device,
        autoload_third_party=not settings.disable_plugin_autoload,
        disabled=settings.disabled_plugins,
    )


def build_executor(settings: Settings, registry: PluginRegistry) -> Executor:
    if settings.executor == "celery":
        from fusiondesk.workers.executor import (
            CeleryExecutor,  # Celery is imported only when chosen
        )

        return CeleryExecutor(settings, registry)
    return InlineExecutor(registry)


def build_stores(settings: Settings) -> tuple[ConversationStore, RateLimiter]:
    """Conversation history and rate limits: in this process, or shared through Redis."""
    options = settings.conversations
    if settings.store == "redis":
        from redis.asyncio import Redis

        from fusiondesk.service.api.ratelimit import RedisRateLimiter
        from fusiondesk.service.conversations.redis_store import RedisConversationStore

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


def build_model_registry(settings: Settings, model_dir: Path) -> PluginRegistry:
    """The plugins configured as the model in ``model_dir`` needs them (e.g. its encoder)."""
    return with_plugin_settings(
        build_registry(settings), model_plugin_settings(model_dir), model_dir
    )


def domain_path(settings: Settings, model_dir: Path | None = None) -> Path:
    """The settings' domain file, else the one saved beside the model, else the demo's."""
    if settings.domain_path is not None:
        return settings.domain_path
    beside_model = (model_dir or settings.resolved_model_dir) / DOMAIN_FILE
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
        self.domain = Domain.load(domain_path(settings))
        self.responder = Responder(TemplateResponder(self.domain), settings.responder)
        self.model_dir = settings.resolved_model_dir
        self._router: Router | None = None
        self.load_error: str | None = None
        self._reload_lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        registry = build_model_registry(settings, settings.resolved_model_dir)
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
            self.responder.knowledge = await asyncio.to_thread(
                open_knowledge_base, self.settings, self.domain
            )
        except Exception as error:
            self.load_error = str(error)
            raise
        self._router = Router(self.registry, self.executor, classifier)
        if self.settings.model_watch_seconds is not None and self._watch is None:
            self._watch = asyncio.create_task(self._watch_model(self.settings.model_watch_seconds))

    async def reload_model(self, model_dir: Path) -> IntentClassifier:
        """Serve the model in ``model_dir`` instead, without a restart.

        Everything the new model needs (its classifier and, when its plugin settings differ,
        new plugins and executor) is loaded and warmed first; the old model keeps answering
        until one assignment swaps the router. On any failure the old model stays.
        """
        async with self._reload_lock:
            classifier = await asyncio.to_thread(
                IntentClassifier.load, model_dir, threshold=self.settings.confidence_threshold
            )
            registry, executor = self.registry, self.executor
            needs = model_plugin_settings(model_dir)
            if needs or needs != model_plugin_settings(self.model_dir):
                registry = await asyncio.to_thread(build_model_registry, self.settings, model_dir)
                executor = build_executor(self.settings, registry)
                await executor.warm_up()
            domain = Domain.load(domain_path(self.settings, model_dir))
            knowledge = await asyncio.to_thread(open_knowledge_base, self.settings, domain)
            responder = Responder(
                TemplateResponder(domain), self.settings.responder, knowledge=knowledge
            )
            old_executor, old_responder = self.executor, self.responder
            self._router = Router(registry, executor, classifier)
            self.registry, self.executor = registry, executor
            self.domain, self.responder = domain, responder
            self.model_dir, self.load_error = model_dir, None
            if old_executor is not executor:
                await old_executor.close()
            await old_responder.aclose()
            logger.info("now serving the model in %s", model_dir)
            return classifier

    async def _watch_model(self, every_seconds: float) -> None:
        """Reload when the served model's config.json changes (a training run finished)."""

        def stamp() -> float | None:
            with contextlib.suppress(OSError):
                return (self.model_dir / CONFIG_FILE).stat().st_mtime
            return None

        seen = stamp()
        while True:
            await asyncio.sleep(every_seconds)
            current = stamp()
            if current is None or current == seen:
                continue
            seen = current
            try:
                await self.reload_model(self.model_dir)
            except Exception as error:  # a half-written or broken model: keep the old one
                logger.error("model reload from %s failed: %s", self.model_dir, error)

    async def close(self) -> None:
        if self._watch is not None:
            await stop_task(self._watch)
        await self.responder.aclose()
        await self.executor.close()
        await self.store.close()

    @property
    def router(self) -> Router:
        if self._router is None:
            raise NotReadyError(self.load_error or "Models are still loading; try again shortly.")
        return self._router

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
        return vector if config.model_path.resolve() == knowledge.encoder_path.resolve() else None

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
            history = await self.store.turns(
                conversation_id, last=self.settings.responder.context_turns
            )
            reply = await self.responder.respond(
                self.reply_request(conversation_id, parts, understanding, history, sequence - 1)
            )
            turn = await self.store.append(
                conversation_id,
                _record(message_id, sequence, parts, understanding, reply, created_at),
            )
        return HandledMessage(conversation_id, message_id, understanding, reply, turn)


TRANSCRIPT_DETAIL = "transcript"
OCR_DETAIL = "ocr"


def message_text(parts: Sequence[Part], results: Sequence[PartResult]) -> str:
    """A message's words, for slots and knowledge search: typed text, transcripts, OCR text."""
    words = [part.text for part in parts if part.text]
    for key in (TRANSCRIPT_DETAIL, OCR_DETAIL):
        words.extend(text for result in results if (text := detail_text(result.details, key)))
    return "\n".join(words)


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
        transcript=_joined_detail(understanding, TRANSCRIPT_DETAIL),
        language=_joined_detail(understanding, "language"),
        ocr=_joined_detail(understanding, OCR_DETAIL),
        intent=prediction.intent,
        confidence=prediction.confidence,
        out_of_scope=prediction.out_of_scope,
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
