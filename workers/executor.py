"""The Celery executor: the service's ``Executor`` interface, served by workers on the queue.

A background task refreshes a health snapshot every second (broker reachable, live workers,
queue depths), so ``describe`` (``/readyz``, ``/metrics``) never waits on Redis.

No live worker for a queue a message needs: the message is refused at once (503 ``no_workers``
with ``Retry-After``) rather than queued for nobody, and one already waiting is given up after
``celery.no_worker_timeout_s`` without a worker (503 too; the client sends it again with the
same message id). Queued work is not lost either way: a worker that comes back encodes it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

import redis
import redis.asyncio as aioredis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from fusiondesk.plugins import Encoding, PluginRegistry
from fusiondesk.service.aio import stop_task
from fusiondesk.service.errors import NotReadyError
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import EncodeJob
from fusiondesk.workers.app import QUEUES
from fusiondesk.workers.client import CeleryClient
from fusiondesk.workers.records import WORKER_KEY_PREFIX, read_dead_letters

logger = logging.getLogger(__name__)

HEALTH_REFRESH_S = 1.0
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class NoWorkersError(NotReadyError):
    """No live worker consumes a queue this message needs (503 with Retry-After)."""

    code = "no_workers"


class CeleryExecutor:
    def __init__(self, settings: Settings, registry: PluginRegistry) -> None:
        self.settings = settings
        self.registry = registry
        self.client = CeleryClient(settings, registry)
        self._health: dict[str, Any] = {"broker": "unknown", "workers": []}
        self._monitor: asyncio.Task[None] | None = None
        self._needed_queues = sorted({plugin.queue for plugin in registry})
        self._unserved_since: dict[str, float] = {}
        """Queues without a live worker, and since when (monotonic), as of the last snapshot."""

    @classmethod
    def from_settings(cls, settings: Settings, registry: PluginRegistry) -> CeleryExecutor:
        """The ``celery`` entry point of ``fusiondesk.executors``."""
        return cls(settings, registry)

    async def encode(self, jobs: Sequence[EncodeJob]) -> list[Encoding]:
        queues = {self.registry.get(job.plugin).queue for job in jobs}
        self._refuse_unserved(queues, waited_s=0.0)
        work = asyncio.ensure_future(self.client.encode(jobs))
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=HEALTH_REFRESH_S)
                if not work.done():
                    self._refuse_unserved(queues, self.settings.celery.no_worker_timeout_s)
            return work.result()
        finally:
            work.cancel()  # refused: the parts stay queued; nobody waits for them here

    def _refuse_unserved(self, queues: set[str], waited_s: float) -> None:
        """Raise ``NoWorkersError`` if a queue has had no live worker for ``waited_s``."""
        now = time.monotonic()
        for queue in sorted(queues):
            since = self._unserved_since.get(queue)
            if since is not None and now - since >= waited_s:
                raise NoWorkersError(
                    f"No worker is serving the {queue!r} queue; send the message again (same "
                    "message_id) in a few seconds."
                )

    async def warm_up(self) -> None:
        """The API loads no encoder: it only starts watching the broker and the workers."""
        self._monitor = asyncio.get_running_loop().create_task(self._watch())

    async def close(self) -> None:
        if self._monitor is not None:
            await stop_task(self._monitor)
        await self.client.close()

    def describe(self) -> dict[str, object]:
        health = self._health
        workers = health["workers"]
        return {
            "executor": "celery",
            "ready": health["broker"] == "ok" and bool(workers) and not self._unserved_since,
            "broker": health["broker"],
            "queues": health.get("queues", {}),
            "unserved_queues": sorted(self._unserved_since),
            "workers": [
                {
                    "hostname": worker["hostname"],
                    "queues": worker["queues"],
                    "device": worker["device"],
                    "models": {name: m["loaded"] for name, m in worker["models"].items()},
                }
                for worker in workers
            ],
        }

    async def dead_letters(self, limit: int) -> list[dict[str, object]] | None:
        """Read from the broker, where the workers push a job once its retries are spent."""

        def read() -> list[dict[str, object]]:
            with redis.Redis.from_url(self.settings.celery.broker_url) as client:
                return read_dead_letters(client, limit)

        return await asyncio.to_thread(read)

    def metrics(self) -> Iterable[Metric]:
        """Prometheus families from the latest snapshot (queue depths, the workers' batches)."""
        depth = GaugeMetricFamily(
            "fusiondesk_queue_depth", "Messages waiting in a queue", labels=["queue"]
        )
        for queue, count in self._health.get("queues", {}).items():
            depth.add_metric([queue], count)
        yield depth
        workers = self._health["workers"]
        yield GaugeMetricFamily("fusiondesk_workers", "Live workers", value=len(workers))
        sizes = HistogramMetricFamily(
            "fusiondesk_batch_size", "Batch sizes run by the workers", labels=["worker", "model"]
        )
        latency = SummaryMetricFamily(
            "fusiondesk_inference_seconds", "Model time per batch", labels=["worker", "model"]
        )
        errors = CounterMetricFamily(
            "fusiondesk_inference_errors", "Failed encodes", labels=["worker", "model"]
        )
        for worker in workers:
            for model, stats in worker["models"].items():
                labels = [worker["hostname"], model]
                seen = {int(size): count for size, count in stats["batch_sizes"].items()}
                buckets = [
                    (str(bound), sum(c for s, c in seen.items() if s <= bound))
                    for bound in BATCH_SIZE_BUCKETS
                ]
                buckets.append(("+Inf", stats["batches"]))
                sizes.add_metric(labels, buckets, sum_value=stats["items"])
                latency.add_metric(labels, stats["batches"], stats["seconds_total"])
                errors.add_metric(labels, stats["errors"])
        yield from (sizes, latency, errors)

    async def _watch(self) -> None:
        client = aioredis.Redis.from_url(
            self.settings.celery.broker_url, socket_connect_timeout=1.0, socket_timeout=2.0
        )
        try:
            while True:
                self._health = await _health_snapshot(client)
                self._note_unserved_queues(self._health)
                await asyncio.sleep(HEALTH_REFRESH_S)
        finally:
            await client.aclose()

    def _note_unserved_queues(self, health: dict[str, Any]) -> None:
        if health["broker"] != "ok":  # unknown, not unserved: the broker's own error answers
            self._unserved_since = {}
            return
        served = {queue for worker in health["workers"] for queue in worker["queues"]}
        now = time.monotonic()
        self._unserved_since = {
            queue: self._unserved_since.get(queue, now)
            for queue in self._needed_queues
            if queue not in served
        }


async def _health_snapshot(client: aioredis.Redis) -> dict[str, Any]:
    try:
        await client.ping()
        depths = [int(await client.llen(queue)) for queue in QUEUES]
        keys = [key async for key in client.scan_iter(match=WORKER_KEY_PREFIX + "*")]
        raws = await client.mget(keys) if keys else []
    except (redis.RedisError, OSError) as error:
        return {"broker": f"unreachable: {error}", "workers": [], "checked_at": time.time()}
    workers = sorted((json.loads(raw) for raw in raws if raw), key=lambda w: w["hostname"])
    return {
        "broker": "ok",
        "queues": dict(zip(QUEUES, depths, strict=True)),
        "workers": workers,
        "checked_at": time.time(),
    }
