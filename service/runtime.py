"""Everything a running service holds, built from settings: plugins, executor, model, replies."""

from __future__ import annotations

import asyncio
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
    if settings.executor == "celery":
        from workers.executor import CeleryExecutor  # Celery is imported only when chosen

        return CeleryExecutor(settings, registry)
    return InlineExecutor(registry)


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
        self._router: Router | None = None
        self.load_error: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        registry = build_registry(settings)
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

    async def close(self) -> None:
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
