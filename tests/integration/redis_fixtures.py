"""A real ``redis-server`` and real ``fusiondesk worker`` (Celery) processes for the tests.

Session-scoped: Redis starts once on a free loopback port in a temporary directory, two workers
start once (each loads MiniLM), and everything stops at the end (``fusiondesk.workers.local``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fusiondesk.service.api import create_app
from fusiondesk.service.settings import Settings
from fusiondesk.workers.local import LocalRedis, LocalWorkers, worker_environment

REDIS_SERVER = shutil.which("redis-server")
WORKER_THREADS = 32
VISIBILITY_TIMEOUT_S = 4.0
MAX_RETRIES = 2


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (scripts/install-system-packages.sh)")
    server = LocalRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def celery_settings(settings: Settings, demo_model_dir: Path, redis_server: LocalRedis) -> Settings:
    return settings.model_validate(
        {
            **settings.model_dump(),
            "model_dir": demo_model_dir,
            "executor": "celery",
            # Fault tests push hundreds of messages from one client address.
            "rate_limits": {"per_key_per_minute": 0, "per_ip_per_minute": 0},
            "celery": {
                "broker_url": redis_server.url,
                "visibility_timeout_s": VISIBILITY_TIMEOUT_S,
                "max_retries": MAX_RETRIES,
                "retry_backoff_s": 1.0,
                "result_timeout_s": 90,
                "resubmit_after_s": 10,
                "heartbeat_s": 0.5,
            },
        }
    )


@pytest.fixture(scope="session")
def worker_env(
    celery_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    config = celery_settings.celery
    return {
        **worker_environment(
            config.broker_url,
            visibility_timeout_s=config.visibility_timeout_s,
            max_retries=config.max_retries,
            retry_backoff_s=config.retry_backoff_s,
            result_timeout_s=config.result_timeout_s,
            heartbeat_s=config.heartbeat_s,
        ),
        "FUSIONDESK_HOME": str(celery_settings.home),
        "FUSIONDESK_MODEL_DIR": str(celery_settings.model_dir),
    }


@pytest.fixture(scope="session")
def workers(
    worker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalWorkers]:
    """Two worker processes on both queues, models loaded."""
    pool = LocalWorkers(worker_env, tmp_path_factory.mktemp("worker-logs"), WORKER_THREADS)
    for name in ("w1@test", "w2@test"):
        pool.start(name)
    pool.wait_ready(["w1@test", "w2@test"])
    yield pool
    pool.stop_all()


@pytest.fixture(scope="session")
def celery_api(celery_settings: Settings, workers: LocalWorkers) -> Iterator[TestClient]:
    """The real app with ``FUSIONDESK_EXECUTOR=celery``, ready (broker up, workers present)."""
    with TestClient(create_app(celery_settings), raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.1)
        yield client
