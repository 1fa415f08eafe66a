from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fusiondesk.service.api import create_app
from fusiondesk.service.settings import Settings
from tests.integration.redis_fixtures import (  # noqa: F401  (session fixtures for Celery tests)
    celery_api,
    celery_settings,
    redis_server,
    worker_env,
    workers,
)
from tests.integration.redis_server import redis_url  # noqa: F401  (a session fixture)


@pytest.fixture(scope="session")
def client(settings: Settings, demo_model_dir: Path) -> Iterator[TestClient]:
    """The real app (real text plugin, real demo model), ready to serve."""
    app = create_app(settings.model_copy(update={"model_dir": demo_model_dir}))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        deadline = time.monotonic() + 120
        while test_client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, test_client.get("/readyz").json()
            time.sleep(0.1)
        yield test_client
