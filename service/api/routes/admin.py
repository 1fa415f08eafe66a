"""Operator routes. Everything under ``/v1/admin`` needs an API key with the admin scope."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from fusiondesk.service.api.deps import RuntimeDep
from fusiondesk.service.api.openapi import AUTH_ERRORS, error_responses
from fusiondesk.service.api.security import require_admin
from fusiondesk.service.errors import ModelNotFoundError, RequestRejectedError

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=error_responses(*AUTH_ERRORS),
)


class KeyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "widget", "scopes": ["chat"], "public": True}]}
    )

    name: str
    scopes: list[str]
    public: bool


class SecurityOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "auth_required": True,
                    "keys": [{"name": "widget", "scopes": ["chat"], "public": True}],
                    "cors_origins": ["https://shop.example"],
                    "rate_limits": {"per_key_per_minute": 600, "per_ip_per_minute": 300},
                }
            ]
        }
    )

    auth_required: bool
    keys: list[KeyOut]
    cors_origins: list[str]
    rate_limits: dict[str, int]


@router.get(
    "/security",
    summary="The security settings in force: API key names and scopes (never their hashes)",
    response_model=SecurityOut,
)
async def security_settings(runtime: RuntimeDep) -> SecurityOut:
    settings = runtime.settings
    return SecurityOut(
        auth_required=settings.auth.required,
        keys=[
            KeyOut(name=k.name, scopes=list(k.scopes), public=k.public)
            for k in settings.auth.api_keys
        ],
        cors_origins=settings.cors_origins,
        rate_limits=settings.rate_limits.model_dump(),
    )


class ModelReloadIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"path": "/models/shop-v2"}]})

    path: Path | None = Field(
        default=None, description="Model directory to serve; default: reload the current one."
    )


class ModelOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "path": "/models/shop-v2",
                    "strategy": "concat",
                    "intents": 15,
                    "slots": ["text"],
                    "load_seconds": 1.2,
                }
            ]
        }
    )

    path: str
    strategy: str
    intents: int
    slots: list[str]
    load_seconds: float


@router.post(
    "/model",
    summary="Load a model and serve it; the old one answers until the new one is ready",
    responses=error_responses(422),
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
