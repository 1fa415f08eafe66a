"""``GET /metrics``: Prometheus text format from the default registry, which every part of
fusiondesk (API, conversations, workers) records into."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["observability"])

EXAMPLE = (
    "# HELP fusiondesk_messages_total Customer messages handled, by channel.\n"
    "# TYPE fusiondesk_messages_total counter\n"
    'fusiondesk_messages_total{channel="ws"} 42.0\n'
)


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests, latency per endpoint, intents, out-of-scope, handoffs",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"example": EXAMPLE}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
