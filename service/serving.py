"""The model being served and everything bound to it, loaded, hot-reloaded and watched.

A model directory decides more than the classifier: its plugin settings (e.g. a fine-tuned
text encoder) decide the plugins and so the executor, and its domain file and knowledge base
decide the replies. ``ModelServer`` holds them together; a reload loads and warms the new
ones first and then swaps them all in one step, with no await in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from fusiondesk.plugins import Part, PluginRegistry
from fusiondesk.service.aio import stop_task
from fusiondesk.service.demo import DEMO_DOMAIN
from fusiondesk.service.errors import FusionDeskError, NotReadyError
from fusiondesk.service.replies.domain import DOMAIN_FILE, Domain
from fusiondesk.service.replies.knowledge import open_knowledge_base
from fusiondesk.service.replies.responder import Responder
from fusiondesk.service.replies.templates import TemplateResponder
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import Executor
from fusiondesk.service.understanding.fusion import IntentClassifier
from fusiondesk.service.understanding.fusion.domain_words import (
    give_domain_words,
    model_domain_words,
)
from fusiondesk.service.understanding.fusion.encoders import model_plugin_settings
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE
from fusiondesk.service.understanding.router import Router
from fusiondesk.service.understanding.wiring import build_executor, build_model_registry

logger = logging.getLogger(__name__)

PROBE_TEXT = "hello, I need some help with my order"
PROBE_TIMEOUT_S = 60.0
"""Longest a reload's probe message may take (through the workers with the Celery executor)."""


class UnservableModelError(FusionDeskError):
    """A model the loaded plugins cannot feed, or that fails a probe message: not swapped in."""

    code = "model_unservable"
    status = 422


def domain_path(settings: Settings, model_dir: Path | None = None) -> Path:
    """The settings' domain file, else the one saved beside the model, else the demo's."""
    if settings.domain_path is not None:
        return settings.domain_path
    beside_model = (model_dir or settings.resolved_model_dir) / DOMAIN_FILE
    return beside_model if beside_model.is_file() else DEMO_DOMAIN


class ModelServer:
    """The served model's router, plugins, executor, domain and responder."""

    def __init__(self, settings: Settings, registry: PluginRegistry, executor: Executor) -> None:
        self.settings = settings
        self.registry = registry
        self.executor = executor
        self.domain = Domain.load(domain_path(settings))
        self.responder = Responder(TemplateResponder(self.domain), settings.responder)
        self.model_dir = settings.resolved_model_dir
        self._router: Router | None = None
        self.load_error: str | None = None
        self._reload_lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._router is not None

    @property
    def router(self) -> Router:
        if self._router is None:
            raise NotReadyError(self.load_error or "Models are still loading; try again shortly.")
        return self._router

    async def start(self) -> None:
        """Load the intent model and warm the plugins; the service reports ready afterwards."""
        try:
            classifier = await asyncio.to_thread(
                serving_classifier, self.settings.resolved_model_dir, self.settings
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
        until one assignment swaps the router. On any failure the old model stays, including a
        model that the loaded plugins cannot feed or that fails a probe message.
        """
        async with self._reload_lock:
            classifier = await asyncio.to_thread(serving_classifier, model_dir, self.settings)
            words = await asyncio.to_thread(model_domain_words, model_dir)
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
            router = Router(registry, executor, classifier)
            try:
                await check_servable(router)
            except UnservableModelError:
                if executor is not self.executor:
                    await executor.close()
                await responder.aclose()
                raise
            old_executor, old_responder = self.executor, self.responder
            # With the router, not before: a model refused above must not change the hint.
            give_domain_words(registry, words)
            self._router = router
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


def serving_classifier(model_dir: Path, settings: Settings) -> IntentClassifier:
    """The model in ``model_dir``, compiled for the message path."""
    classifier = IntentClassifier.load(model_dir, threshold=settings.confidence_threshold)
    return classifier.compile(int8=settings.int8_intent_head)


async def check_servable(router: Router) -> None:
    """Refuse a model none of whose slots a loaded plugin fills (every message would fail), and
    one that fails a typed probe message when typed text feeds it; other gaps are logged."""
    produced = router.registry.slot_specs()
    spaces = {spec.space for spec in produced.values() if spec.space is not None}
    model_slots = router.classifier.config.slots
    fed = {slot.name for slot in model_slots if slot.name in produced or slot.space in spaces}
    if not fed:
        raise UnservableModelError(
            f"No loaded plugin fills any of the model's slots {[s.name for s in model_slots]} "
            f"(the plugins produce {sorted(produced)}); the current model keeps serving."
        )
    if unfed := [slot.name for slot in model_slots if slot.name not in fed]:
        logger.warning("no loaded plugin fills the model's slots %s", unfed)
    if "text" not in router.registry.part_types:
        return
    text_slots = router.registry.for_part_type("text").slots
    model_spaces = {slot.space for slot in model_slots if slot.space is not None}
    if not any(spec.name in fed or spec.space in model_spaces for spec in text_slots):
        return
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await router.understand([Part("text", text=PROBE_TEXT)])
    except Exception as error:
        raise UnservableModelError(
            f"A probe message failed on the new model ({error}); the current model keeps serving."
        ) from error
