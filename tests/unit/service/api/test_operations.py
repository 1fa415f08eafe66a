"""``GET /v1/dead-letters`` asks the executor, and the API's own rate limiter guards it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.api import app as app_module
from fusiondesk.service.api import create_app
from fusiondesk.service.api.ratelimit import InMemoryRateLimiter
from fusiondesk.service.conversations.store import InMemoryConversationStore
from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import RateLimits, Settings
from fusiondesk.service.understanding.executor import Executor, InlineExecutor

LETTER: dict[str, object] = {"task_id": "m1:0", "plugin": "voice", "tries": 4}


class DeadLetterExecutor(InlineExecutor):
    """An executor that keeps dead letters, as the Celery one does, without a broker."""

    def __init__(self) -> None:
        super().__init__(PluginRegistry())
        self.limits: list[int] = []

    async def dead_letters(self, limit: int) -> list[dict[str, object]] | None:
        self.limits.append(limit)
        return [LETTER][:limit]


class ClosingLimiter(InMemoryRateLimiter):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    async def close(self) -> None:
        self.closed = True


def _client(settings: Settings, executor: Executor) -> TestClient:
    """The app serving a runtime whose model never loads: the route needs none."""
    runtime = Runtime(settings, PluginRegistry(), executor, InMemoryConversationStore())
    return TestClient(create_app(runtime=runtime))


@pytest.fixture
def limiter(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClosingLimiter]:
    made = ClosingLimiter()
    monkeypatch.setattr(app_module, "build_rate_limiter", lambda settings: made)
    yield made


def test_dead_letters_come_from_the_executor(settings: Settings) -> None:
    executor = DeadLetterExecutor()
    with _client(settings, executor) as client:
        assert client.get("/v1/dead-letters").json() == {"dead_letters": [LETTER]}
        assert client.get("/v1/dead-letters", params={"limit": 0}).json() == {"dead_letters": []}
        assert client.get("/v1/dead-letters", params={"limit": "many"}).status_code == 422
    assert executor.limits == [100, 0]


def test_an_executor_without_dead_letters_answers_404(settings: Settings) -> None:
    with _client(settings, InlineExecutor(PluginRegistry())) as client:
        response = client.get("/v1/dead-letters")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "Dead letters exist only with the celery executor.",
    }


def test_the_app_counts_requests_on_its_own_limiter_and_closes_it(
    settings: Settings, limiter: ClosingLimiter
) -> None:
    limited = settings.model_copy(update={"rate_limits": RateLimits(per_ip_per_minute=1)})
    with _client(limited, DeadLetterExecutor()) as client:
        assert client.app.state.limiter is limiter  # type: ignore[attr-defined]
        assert client.get("/v1/dead-letters").status_code == 200
        refused = client.get("/v1/dead-letters")
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert not limiter.closed
    assert limiter.closed
