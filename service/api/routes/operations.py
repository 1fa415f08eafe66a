"""Operations endpoints: Prometheus metrics and the dead letters of the Celery executor."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from service.api.deps import RuntimeDep
from service.errors import RequestRejectedError

router = APIRouter(tags=["operations"])


class _ExecutorCollector(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    body = generate_latest(REGISTRY)
    executor_metrics = getattr(runtime.executor, "metrics", None)
    if callable(executor_metrics):
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_ExecutorCollector(executor_metrics()))
        body += generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/dead-letters", summary="Messages that failed for good on the workers")
async def dead_letters(runtime: RuntimeDep, limit: int = 100) -> dict[str, Any]:
    if runtime.settings.executor != "celery":
        raise RequestRejectedError(
            "Dead letters exist only with the celery executor.", code="not_found", status=404
        )
    import redis

    from workers.records import read_dead_letters

    def read() -> list[dict[str, Any]]:
        with redis.Redis.from_url(runtime.settings.celery.broker_url) as client:
            return read_dead_letters(client, limit)

    return {"dead_letters": await asyncio.to_thread(read)}
