"""Everything a running service holds, built from settings: plugins, executor, model, replies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from plugins import Part, PluginRegistry
from service.conversations import ConversationStore, InMemoryConversationStore, Turn
from service.demo import DEMO_DOMAIN
from service.errors import NotReadyError
from service.executor import Executor, InlineExecutor
from service.fusion import IntentClassifier
from service.fusion.encoders import model_plugin_settings, with_plugin_settings
from service.fusion.model import CONFIG_FILE
from service.responder import DOMAIN_FILE, Domain, Reply, TemplateResponder
from service.router import Router, Understanding
from service.settings import Settings

logger = logging.getLogger(__name__)


def build_registry(settings: Settings) -> PluginRegistry:
    return PluginRegistry.discover(
        configs=settings.plugins,
        device=settings.device,
        autoload_third_party=not settings.disable_plugin_autoload,
        disabled=settings.disabled_plugins,
    )


def build_executor(settings: Settings, registry: PluginRegistry) -> Executor:
    return InlineExecutor(registry)


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


class Runtime:
    def __init__(
        self,
        settings: Settings,
        registry: PluginRegistry,
        executor: Executor,
        store: ConversationStore,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.executor = executor
        self.store = store
        self.responder = TemplateResponder(Domain.load(domain_path(settings)))
        self.model_dir = settings.resolved_model_dir
        self._router: Router | None = None
        self.load_error: str | None = None
        self._reload_lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        registry = build_model_registry(settings, settings.resolved_model_dir)
        return cls(
            settings, registry, build_executor(settings, registry), InMemoryConversationStore()
        )

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
            responder = TemplateResponder(Domain.load(domain_path(self.settings, model_dir)))
            old_executor = self.executor
            self._router = Router(registry, executor, classifier)
            self.registry, self.executor, self.responder = registry, executor, responder
            self.model_dir, self.load_error = model_dir, None
            if old_executor is not executor:
                await old_executor.close()
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
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self.executor.close()
        await self.store.close()

    @property
    def router(self) -> Router:
        if self._router is None:
            raise NotReadyError(self.load_error or "Models are still loading; try again shortly.")
        return self._router

    async def handle(
        self, conversation_id: str, parts: Sequence[Part], message_id: str | None = None
    ) -> HandledMessage:
        message_id = message_id or uuid.uuid4().hex
        understanding = await self.router.understand(parts)
        history = await self.store.turns(conversation_id)
        reply = self.responder.respond(
            understanding.prediction, conversation_id=conversation_id, turn=len(history)
        )
        prediction = understanding.prediction
        turn = await self.store.append(
            conversation_id,
            Turn(
                message_id=message_id,
                parts=[
                    {"type": r.type, "plugin": r.plugin, "details": r.details}
                    for r in understanding.parts
                ],
                intent=prediction.intent,
                confidence=prediction.confidence,
                out_of_scope=prediction.out_of_scope,
                reply=reply.text,
                created_at=time.time(),
                timings_ms=understanding.timings_ms,
            ),
        )
        return HandledMessage(conversation_id, message_id, understanding, reply, turn)
