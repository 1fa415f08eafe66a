"""Shared by the queue benchmarks: BANKING77 texts, a local cluster, closed-loop load."""

from __future__ import annotations

import asyncio
import csv
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fusiondesk.plugins import Part
from fusiondesk.service.demo.model import ensure_demo_model
from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.wiring import build_registry
from fusiondesk.workers.local import LocalRedis, LocalWorkers, worker_environment

BANKING77 = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77"


def banking77_texts(split: str = "test") -> list[str]:
    with (BANKING77 / f"{split}.csv").open(newline="", encoding="utf-8") as source:
        return [row["text"] for row in csv.DictReader(source)]


def demo_settings() -> Settings:
    """The user's settings with the demo model trained (once) where they point."""
    settings = Settings()
    ensure_demo_model(
        settings.resolved_model_dir, build_registry(settings), settings.cache_dir, progress=False
    )
    return settings


@dataclass
class Cluster:
    redis: LocalRedis
    workers: LocalWorkers

    def settings(self, base: Settings) -> Settings:
        celery = {**base.celery.model_dump(), "broker_url": self.redis.url}
        return base.model_copy(
            update={"executor": "celery", "celery": base.celery.model_validate(celery)}
        )


@contextmanager
def local_cluster(threads: int = 128, appendfsync: str = "everysec") -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory(prefix="fusiondesk-bench-") as directory:
        redis = LocalRedis(Path(directory), appendfsync)
        redis.start()
        workers = LocalWorkers(
            worker_environment(redis.url, heartbeat_s=0.5), Path(directory), threads
        )
        try:
            yield Cluster(redis, workers)
        finally:
            workers.stop_all()
            redis.stop()


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    messages: int
    seconds: float
    latencies_s: list[float]

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50_ms(self) -> float:
        return 1000 * statistics.median(self.latencies_s)


async def closed_loop(
    runtime: Runtime, texts: list[str], concurrency: int, messages: int
) -> LoadResult:
    """``concurrency`` clients, each sending its next message when the last is answered."""
    latencies: list[float] = []
    counter = iter(range(messages))

    async def client() -> None:
        for index in counter:
            started = time.perf_counter()
            await runtime.router.understand([Part("text", text=texts[index % len(texts)])])
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return LoadResult(concurrency, messages, time.perf_counter() - started, latencies)
