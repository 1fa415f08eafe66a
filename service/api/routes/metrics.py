"""``GET /metrics``: Prometheus text format from the default registry, which every part of
fusiondesk (API, conversations) records into, plus the executor's own families (queue depths,
worker batch sizes and latencies, read from the broker when the executor is Celery)."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from fusiondesk.service.api.deps import RuntimeDep

router = APIRouter(tags=["observability"])

EXAMPLE = (
    "# HELP fusiondesk_messages_total Customer messages handled, by channel.\n"
    "# TYPE fusiondesk_messages_total counter\n"
    'fusiondesk_messages_total{channel="ws"} 42.0\n'
)


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, latency per endpoint, intents, out-of-scope, handoffs, "
    "queue depths and batch sizes",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"example": EXAMPLE}}}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(runtime.executor.metrics()))
    return Response(generate_latest() + generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
