"""The conversation-store tests' Redis: the session's real ``redis-server`` (the one the Celery
tests use, see ``redis_fixtures``) on a database of its own."""

from __future__ import annotations

import pytest

from fusiondesk.workers.local import LocalRedis


@pytest.fixture(scope="session")
def redis_url(redis_server: LocalRedis) -> str:
    return redis_server.url.rsplit("/", 1)[0] + "/1"
