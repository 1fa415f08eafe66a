from __future__ import annotations

import json

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.api.deps import RuntimeDep
from service.api.errors import RETRY_AFTER_SECONDS, error_response

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Models are loaded and messages can be served",
    responses={503: {"description": "Still loading, or loading failed"}},
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    if not runtime.ready:
        message = runtime.load_error or "Models are still loading."
        return error_response(503, "not_ready", message, {"Retry-After": RETRY_AFTER_SECONDS})
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
                "path": str(runtime.settings.resolved_model_dir),
                "intents": len(classifier.intents),
                "slots": classifier.model.slot_names,
            },
            **executor,
        }
    )
