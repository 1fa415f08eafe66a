"""Operator endpoints: swap the served model without a restart.

``require_admin`` is deliberately one small dependency so that a fuller API-key scheme can
replace it in one place.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from service.api.deps import RuntimeDep
from service.api.schemas import ErrorOut
from service.errors import FusionDeskError, ModelNotFoundError, RequestRejectedError
from service.settings import Settings


class AdminKeyError(FusionDeskError):
    code = "unauthorized"
    status = 401


def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Let the request through only with ``Authorization: Bearer <FUSIONDESK_ADMIN_API_KEY>``."""
    settings: Settings = request.app.state.runtime.settings
    if settings.admin_api_key is None:
        raise FusionDeskError(
            "Admin endpoints are disabled; set FUSIONDESK_ADMIN_API_KEY to enable them.",
            code="admin_disabled",
            status=403,
        )
    scheme, _, given = (authorization or "").partition(" ")
    expected = settings.admin_api_key.get_secret_value()
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.encode(), expected.encode()):
        raise AdminKeyError("A valid admin key is required (Authorization: Bearer KEY).")


router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_admin)])


class ModelReloadIn(BaseModel):
    path: Path | None = Field(
        default=None, description="Model directory to serve; default: reload the current one."
    )


class ModelOut(BaseModel):
    path: str
    strategy: str
    intents: int
    slots: list[str]
    load_seconds: float


@router.post(
    "/model",
    summary="Load a model and serve it; the old one answers until the new one is ready",
    responses={
        401: {"model": ErrorOut, "description": "Missing or wrong admin key"},
        403: {"model": ErrorOut, "description": "Admin endpoints disabled"},
        422: {"model": ErrorOut, "description": "No loadable model at that path"},
    },
)
async def reload_model(body: ModelReloadIn, runtime: RuntimeDep) -> ModelOut:
    target = body.path or runtime.model_dir
    started = time.perf_counter()
    try:
        classifier = await runtime.reload_model(target)
    except ModelNotFoundError as error:
        raise RequestRejectedError(error.message, code="model_not_found") from error
    except (OSError, ValueError) as error:
        raise RequestRejectedError(
            f"Cannot load the model in {target}: {error}", code="invalid_model"
        ) from error
    return ModelOut(
        path=str(target),
        strategy=classifier.config.strategy,
        intents=len(classifier.intents),
        slots=classifier.model.slot_names,
        load_seconds=round(time.perf_counter() - started, 3),
    )
