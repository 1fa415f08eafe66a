"""Thin Celery tasks: hand the payload to the plugin's batcher, return the encoding.

Everything heavy lives in one ``WorkerRuntime`` per worker process, built lazily in that
process (never before a fork), whose plugins load once and stay loaded.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from celery import Celery, Task, states

from fusiondesk.plugins import Encoding, InputError, Payload, PluginRegistry
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.wiring import build_registry
from fusiondesk.workers.app import QUEUES, RESUBMITTED_HEADER, encode_task_name, group_task_name
from fusiondesk.workers.batching import ThreadBatcher
from fusiondesk.workers.records import WorkerStats, record_dead_letter
from fusiondesk.workers.wire import (
    WireEncoding,
    encoding_to_wire,
    failure_to_wire,
    input_error_to_wire,
)

logger = logging.getLogger(__name__)


class WorkerRuntime:
    """The plugins, their batchers and the statistics of one worker process."""

    def __init__(self, settings: Settings, hostname: str, queues: list[str]) -> None:
        self.settings = settings
        self.registry: PluginRegistry = build_registry(settings)
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
                override = self.settings.celery.batching.get(plugin_name)
                max_batch_size = plugin.max_batch_size
                max_wait_ms = plugin.max_wait_ms
                if override is not None:
                    max_batch_size = override.max_batch_size or max_batch_size
                    if override.max_wait_ms is not None:
                        max_wait_ms = override.max_wait_ms
                self._batchers[plugin_name] = ThreadBatcher(
                    plugin.embed,
                    max_batch_size=max_batch_size,
                    max_wait_ms=max_wait_ms,
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


def register_tasks(app: Celery, settings: Settings) -> None:
    """One encode task per queue; a plugin's ``queue`` attribute picks which one it gets."""
    config = settings.celery

    def encode(task: Task[Any, Any], plugin_name: str, payload: Payload) -> WireEncoding:
        stored: WireEncoding | None = _stored_result(task)
        if stored is not None:
            return stored
        runtime = worker_runtime(settings)
        try:
            encoding = runtime.encode(plugin_name, payload)
        except InputError as error:
            return input_error_to_wire(error)
        except Exception as error:
            runtime.stats.record_error(plugin_name)
            tries = task.request.retries + 1
            if task.request.retries < config.max_retries:
                logger.warning("%s failed (try %d), retrying: %r", task.request.id, tries, error)
                raise task.retry(
                    exc=error, countdown=config.retry_backoff_s * 2**task.request.retries
                ) from error
            logger.error("%s failed for good after %d tries: %r", task.request.id, tries, error)
            record_dead_letter(
                runtime.redis,
                {
                    "task_id": task.request.id,
                    "plugin": plugin_name,
                    "queue": task.request.delivery_info.get("routing_key"),
                    "tries": tries,
                    "error": f"{type(error).__name__}: {error}",
                    "payload_keys": sorted(payload) if isinstance(payload, dict) else [],
                    "failed_at": time.time(),
                },
            )
            raise
        return encoding_to_wire(encoding)

    def encode_group(task: Task[Any, Any], items: list[list[Any]]) -> list[WireEncoding]:
        # No retries here: a part that failed comes back as a failure and the API publishes it
        # again alone, so a poisonous part never holds its neighbours' answers back.
        stored: list[WireEncoding] | None = _stored_result(task)
        if stored is not None:
            return stored
        pairs = [(str(plugin_name), payload) for plugin_name, payload in items]
        return worker_runtime(settings).encode_group(pairs)

    for queue in QUEUES:
        app.task(name=encode_task_name(queue), bind=True, acks_late=True)(encode)
        app.task(name=group_task_name(queue), bind=True, acks_late=True)(encode_group)


def _stored_result(task: Task[Any, Any]) -> Any:
    """The result already stored for this task id, if it may have one.

    Tasks are idempotent by id: a redelivered message whose result is stored (its worker died
    between storing and acknowledging), or one the API published again, is not encoded twice.
    Only those can have a result, so the rest skip the round trip.
    """
    request = task.request
    if request.delivery_info.get("redelivered") or getattr(request, RESUBMITTED_HEADER, None):
        stored = task.backend.get_task_meta(request.id)
        if stored.get("status") == states.SUCCESS:
            return stored["result"]
    return None
