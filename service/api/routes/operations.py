"""Operations endpoints: the executor's dead letters (admin scope; the Celery executor keeps
them, the inline one has none)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from fusiondesk.service.api.deps import RuntimeDep
from fusiondesk.service.api.openapi import AUTH_ERRORS, error_responses
from fusiondesk.service.api.security import require_admin
from fusiondesk.service.errors import RequestRejectedError

router = APIRouter(
    tags=["operations"],
    dependencies=[Depends(require_admin)],
    responses=error_responses(*AUTH_ERRORS),
)

EXAMPLE = {
    "dead_letters": [
        {
            "task_id": "m1:0",
            "plugin": "voice",
            "queue": "gpu",
            "tries": 4,
            "error": "RuntimeError: CUDA out of memory",
            "payload_keys": ["data", "format"],
            "failed_at": 1764000000.0,
        }
    ]
}


@router.get(
    "/v1/dead-letters",
    summary="Messages that failed for good on the workers",
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        **error_responses(404, 422),
    },
)
async def dead_letters(runtime: RuntimeDep, limit: int = 100) -> dict[str, Any]:
    letters = await runtime.executor.dead_letters(limit)
    if letters is None:
        raise RequestRejectedError(
            "Dead letters exist only with the celery executor.", code="not_found", status=404
        )
    return {"dead_letters": letters}
