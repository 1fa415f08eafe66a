"""The FastAPI application: middleware, error handlers and routers, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from fusiondesk.service.api.errors import install_error_handlers
from fusiondesk.service.api.middleware import (
    BodySizeLimit,
    HostAndOriginGuard,
    RequestContext,
    allowed_hosts,
)
from fusiondesk.service.api.openapi import complete_openapi
from fusiondesk.service.api.ratelimit import build_failed_authentications, build_rate_limiter
from fusiondesk.service.api.routes import (
    admin,
    agent,
    agent_page,
    conversations,
    docs,
    health,
    messages,
    metrics,
    operations,
    realtime,
    widget,
)
from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import Settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or (runtime.settings if runtime else Settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        live = runtime or Runtime.from_settings(settings)
        app.state.runtime = live
        # Rate limits are the API's own: kept here, not in the runtime the core builds.
        limiter = app.state.limiter = build_rate_limiter(live.settings)
        app.state.auth_failures = build_failed_authentications(live.settings, limiter)
        # Load models in the background: /healthz answers at once, /readyz once loaded.
        loading = asyncio.create_task(live.start())
        loading.add_done_callback(_log_load_failure)
        try:
            yield
        finally:
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loading
            try:
                await live.close()
            finally:
                await limiter.close()

    app = FastAPI(
        title="fusiondesk",
        summary="Multimodal customer service: text, voice and images in, intents and replies out.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served offline by routes/docs.py
        redoc_url=None,
    )
    install_error_handlers(app)
    app.openapi = lambda: complete_openapi(app, settings)  # type: ignore[method-assign]
    app.add_middleware(BodySizeLimit, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
        expose_headers=["Retry-After", "X-Request-ID", "X-Conversation-Token"],
        max_age=600,
    )
    app.add_middleware(
        HostAndOriginGuard,
        hosts=allowed_hosts(settings.host, settings.allowed_hosts),
        cors_origins=settings.cors_origins,
    )
    app.add_middleware(RequestContext)  # outermost: every response gets a request id
    app.include_router(health.router)
    app.include_router(messages.router)
    app.include_router(conversations.router)
    app.include_router(realtime.router)
    app.include_router(metrics.router)
    app.include_router(admin.router)
    app.include_router(widget.router)
    app.include_router(operations.router)
    app.include_router(docs.router)
    app.include_router(agent.router)
    app.include_router(agent_page.router)
    return app


def _log_load_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("loading models failed: %s", task.exception())
