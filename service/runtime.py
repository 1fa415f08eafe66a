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
from service.knowledge import open_knowledge_base
from service.replies import ReplyRequest, Responder
from service.responder import DOMAIN_FILE, Domain, Reply, TemplateResponder
from service.router import PartResult, Router, Understanding
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
        self.domain = Domain.load(domain_path(settings))
        self.responder = Responder(TemplateResponder(self.domain), settings.responder)
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
            self.responder.knowledge = await asyncio.to_thread(
                open_knowledge_base, self.settings, self.domain
            )
        except Exception as error:
            self.load_error = str(error)
            raise
        self._router = Router(self.registry, self.executor, classifier)

    async def close(self) -> None:
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
    ) -> ReplyRequest:
        """What the responder needs for a message; ``responder.stream`` it to send chunks."""
        return ReplyRequest(
            understanding.prediction,
            conversation_id,
            turn=len(history),
            text=message_text(parts, understanding.parts),
            history=recent(history, self.settings.responder.context_turns),
        )

    async def handle(
        self, conversation_id: str, parts: Sequence[Part], message_id: str | None = None
    ) -> HandledMessage:
        message_id = message_id or uuid.uuid4().hex
        understanding = await self.router.understand(parts)
        history = await self.store.turns(conversation_id)
        prediction = understanding.prediction
        reply = await self.responder.respond(
            self.reply_request(conversation_id, parts, understanding, history)
        )
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
                answered_by=reply.answered_by,
                handoff=reply.handoff,
            ),
        )
        return HandledMessage(conversation_id, message_id, understanding, reply, turn)


def message_text(parts: Sequence[Part], results: Sequence[PartResult]) -> str:
    """A message's words, for slots and knowledge search: typed text, transcripts, OCR text."""
    words = [part.text for part in parts if part.text]
    for result in results:
        words.extend(
            value
            for key in ("transcript", "ocr_text")
            if isinstance(value := result.details.get(key), str) and value
        )
    return "\n".join(words)


def recent(history: Sequence[Turn], count: int) -> list[Turn]:
    return list(history[-count:]) if count > 0 else []
