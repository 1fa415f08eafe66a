from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from fusiondesk.service.api.deps import RuntimeDep
from fusiondesk.service.api.errors import RETRY_AFTER_SECONDS, error_response
from fusiondesk.service.api.openapi import error_responses

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="The process is up",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Models are loaded and messages can be served",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "status": "ready",
                        "model": {"path": "/models/demo", "intents": 12, "slots": ["text"]},
                        "executor": "inline",
                        "plugins": {"text": {"loaded": True}},
                    }
                }
            }
        },
        **error_responses(503),
    },
)
async def readyz(request: Request, runtime: RuntimeDep) -> JSONResponse:
    if not runtime.ready:
        message = runtime.load_error or "Models are still loading."
        return error_response(503, "not_ready", message, {"Retry-After": RETRY_AFTER_SECONDS})
    if runtime.in_flight.stopping:
        return error_response(
            503, "shutting_down", "The service is stopping.", {"Retry-After": RETRY_AFTER_SECONDS}
        )
    # Through the clients requests use: a 503 store_unavailable here is what they would get.
    await runtime.store.ping()
    await request.app.state.limiter.ping()
    executor = runtime.executor.describe()
    if executor.get("ready") is False:  # e.g. the broker is down or no worker is up
        return error_response(
            503, "executor_not_ready", json.dumps(executor), {"Retry-After": RETRY_AFTER_SECONDS}
        )
    classifier = runtime.router.classifier
    return JSONResponse(
        {
            "status": "ready",
            "model": {
                "path": str(runtime.model_dir),
                "strategy": classifier.config.strategy,
                "intents": len(classifier.intents),
                "slots": classifier.model.slot_names,
            },
            **executor,
        }
    )
