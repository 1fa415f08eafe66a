"""Operator routes. Everything under ``/v1/admin`` needs an API key with the admin scope."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from fusiondesk.service.api.deps import RuntimeDep
from fusiondesk.service.api.openapi import AUTH_ERRORS, error_responses
from fusiondesk.service.api.security import require_admin
from fusiondesk.service.errors import ModelNotFoundError, RequestRejectedError

logger = logging.getLogger(__name__)
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
    model_config = ConfigDict(json_schema_extra={"examples": [{"path": "demo"}, {}]})

    path: Path | None = Field(
        default=None,
        description="Model directory to serve, inside the models root (FUSIONDESK_MODELS_ROOT, "
        "default HOME/models; relative paths are taken from it); default: reload the current one.",
    )


class ModelOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "path": "/var/lib/fusiondesk/models/demo",
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
    responses=error_responses(400, 422),
)
async def reload_model(body: ModelReloadIn, runtime: RuntimeDep) -> ModelOut:
    if body.path is None:
        target = runtime.model_dir
    else:
        target = inside_models_root(body.path, runtime.settings.resolved_models_root)
    started = time.perf_counter()
    try:
        classifier = await runtime.reload_model(target)
    except ModelNotFoundError as error:
        raise RequestRejectedError(error.message, code="model_not_found") from error
    except (OSError, ValueError) as error:
        # The reason stays in the server log: parser errors quote the files they read, and an
        # API answer must not become a way to read files.
        logger.warning("loading the model in %s failed: %s", target, error)
        raise RequestRejectedError(
            f"Cannot load the model in {target}: not a loadable fusiondesk model "
            "(the server log says why).",
            code="invalid_model",
        ) from error
    return ModelOut(
        path=str(target),
        strategy=classifier.config.strategy,
        intents=len(classifier.intents),
        slots=classifier.model.slot_names,
        load_seconds=round(time.perf_counter() - started, 3),
    )


def inside_models_root(path: Path, root: Path) -> Path:
    """``path`` (relative ones from ``root``) with symlinks resolved, if it lies inside the
    models root; else 422, so an admin key cannot load (or probe) arbitrary directories."""
    resolved_root = root.resolve()
    try:
        resolved = (resolved_root / path).resolve()
    except (OSError, ValueError) as error:  # a NUL byte, a symlink loop
        raise RequestRejectedError("Not a usable path.", code="invalid_path") from error
    if not resolved.is_relative_to(resolved_root):
        raise RequestRejectedError(
            f"Models load only from the models root {resolved_root} (FUSIONDESK_MODELS_ROOT).",
            code="outside_models_root",
        )
    return resolved
