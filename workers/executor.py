"""The Celery executor: the service's ``Executor`` interface, served by workers on the queue.

A background task refreshes a health snapshot every second (broker reachable, live workers,
queue depths), so ``describe`` (``/readyz``, ``/metrics``) never waits on Redis.
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
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import EncodeJob
from fusiondesk.workers.app import QUEUES
from fusiondesk.workers.client import CeleryClient
from fusiondesk.workers.records import WORKER_KEY_PREFIX, read_dead_letters

logger = logging.getLogger(__name__)

HEALTH_REFRESH_S = 1.0
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class CeleryExecutor:
    def __init__(self, settings: Settings, registry: PluginRegistry) -> None:
        self.settings = settings
        self.registry = registry
        self.client = CeleryClient(settings, registry)
        self._health: dict[str, Any] = {"broker": "unknown", "workers": []}
        self._monitor: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, registry: PluginRegistry) -> CeleryExecutor:
        """The ``celery`` entry point of ``fusiondesk.executors``."""
        return cls(settings, registry)

    async def encode(self, jobs: Sequence[EncodeJob]) -> list[Encoding]:
        return await self.client.encode(jobs)

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
            "ready": health["broker"] == "ok" and bool(workers),
            "broker": health["broker"],
            "queues": health.get("queues", {}),
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
                await asyncio.sleep(HEALTH_REFRESH_S)
        finally:
            await client.aclose()


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
