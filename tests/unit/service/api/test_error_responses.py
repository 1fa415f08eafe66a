"""Every 503 the API gives says when to retry."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fusiondesk.service.api.errors import install_error_handlers
from fusiondesk.service.conversations.store import ConversationBusyError
from fusiondesk.service.errors import FusionDeskError, StoreUnavailableError


@pytest.mark.parametrize(
    "error",
    [ConversationBusyError("The conversation is busy."), StoreUnavailableError("Redis is away.")],
)
def test_a_503_comes_with_retry_after(error: FusionDeskError) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        raise error

    response = TestClient(app).get("/fails")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == error.code
    assert int(response.headers["Retry-After"]) >= 1
