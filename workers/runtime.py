"""One worker process's runtime: its plugins, their batchers and its statistics.

Everything heavy lives here, in one ``WorkerRuntime`` per worker process, built lazily in that
process (never before a fork), whose plugins load once and stay loaded. The tasks
(``fusiondesk.workers.tasks``) only hand it their payloads.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from fusiondesk.plugins import Encoding, InputError, ModalityPlugin, Payload, PluginRegistry
from fusiondesk.service.settings import Batching, Settings
from fusiondesk.service.understanding.batching import BatchPolicy
from fusiondesk.service.understanding.wiring import build_model_registry
from fusiondesk.workers.app import QUEUES
from fusiondesk.workers.batching import ThreadBatcher
from fusiondesk.workers.records import WorkerStats
from fusiondesk.workers.wire import (
    WireEncoding,
    encoding_to_wire,
    failure_to_wire,
    input_error_to_wire,
)

logger = logging.getLogger(__name__)


def batch_policy(plugin: ModalityPlugin, override: Batching | None) -> BatchPolicy:
    """The plugin's declared batching, with the worker settings' overrides on top."""
    if override is None:
        return BatchPolicy(plugin.max_batch_size, plugin.max_wait_ms)
    return BatchPolicy(
        override.max_batch_size or plugin.max_batch_size,
        plugin.max_wait_ms if override.max_wait_ms is None else override.max_wait_ms,
    )


class WorkerRuntime:
    """The plugins, their batchers and the statistics of one worker process."""

    def __init__(self, settings: Settings, hostname: str, queues: list[str]) -> None:
        self.settings = settings
        # The plugins as the served model needs them (its text encoder), like the API's.
        self.registry: PluginRegistry = build_model_registry(settings, settings.resolved_model_dir)
        self.queues = queues
        served = [plugin.name for plugin in self.registry if plugin.queue in queues]
        self.stats = WorkerStats(hostname, queues, settings.device, served)
        self.redis = redis.Redis.from_url(settings.celery.broker_url)
        self._batchers: dict[str, ThreadBatcher[Payload, Encoding]] = {}
        self._lock = threading.Lock()

    def batcher(self, plugin_name: str) -> ThreadBatcher[Payload, Encoding]:
        with self._lock:
            if plugin_name not in self._batchers:
                plugin = self.registry.get(plugin_name)
                policy = batch_policy(plugin, self.settings.celery.batching.get(plugin_name))
                self._batchers[plugin_name] = ThreadBatcher(
                    plugin.embed,
                    max_batch_size=policy.max_batch_size,
                    max_wait_ms=policy.max_wait_ms,
                    on_batch=lambda size, seconds: self.stats.record_batch(
                        plugin_name, size, seconds
                    ),
                    name=f"batcher-{plugin_name}",
                )
            return self._batchers[plugin_name]

    def warm_up(self) -> None:
        """Load the models this worker serves, so the first messages do not wait for them."""
        for name in self.stats.models:
            started = time.perf_counter()
            self.registry.get(name).load()
            self.stats.mark_loaded(name)
            logger.info("loaded %s in %.1fs", name, time.perf_counter() - started)

    def encode(self, plugin_name: str, payload: Payload) -> Encoding:
        return self.batcher(plugin_name).submit(payload)

    def encode_group(self, items: list[tuple[str, Payload]]) -> list[WireEncoding]:
        """Every part answered on its own: an encoding, an input error, or a failure."""
        # Queued back to back, before waiting on any: the parts can share one batch.
        futures = [self.batcher(plugin_name).enqueue(payload) for plugin_name, payload in items]
        answers = []
        for (plugin_name, _), future in zip(items, futures, strict=True):
            try:
                answers.append(encoding_to_wire(future.result()))
            except InputError as error:
                answers.append(input_error_to_wire(error))
            except Exception as error:
                self.stats.record_error(plugin_name)
                logger.warning("a %s part of a group failed: %r", plugin_name, error)
                answers.append(failure_to_wire(error))
        return answers


_runtime: WorkerRuntime | None = None
_runtime_lock = threading.Lock()


def start_worker_runtime(settings: Settings, hostname: str, queues: list[str]) -> WorkerRuntime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = WorkerRuntime(settings, hostname, queues)
        return _runtime


def worker_runtime(settings: Settings) -> WorkerRuntime:
    """This process's runtime; created on first use when no worker signal created it."""
    return _runtime or start_worker_runtime(settings, "unknown", list(QUEUES))
