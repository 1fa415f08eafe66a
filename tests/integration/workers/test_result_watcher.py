"""Results reach the API by Redis pub/sub at once, and by polling when a notification is lost."""

from __future__ import annotations

import asyncio
import time

import pytest
from kombu.serialization import dumps
from redis.asyncio import Redis

from fusiondesk.workers.app import RESULT_KEY_PREFIX
from fusiondesk.workers.client import ResultWatcher

pytestmark = [pytest.mark.integration]


async def _store(redis: Redis, task_id: str, *, publish: bool) -> None:
    """What Celery's Redis backend does when a worker finishes: SET the meta, PUBLISH it."""
    _, _, raw = dumps({"status": "SUCCESS", "result": {"ok": 1}, "task_id": task_id}, "msgpack")
    await redis.set(RESULT_KEY_PREFIX + task_id, raw)
    if publish:
        await redis.publish(RESULT_KEY_PREFIX + task_id, raw)


def test_a_published_result_arrives_long_before_the_next_poll(redis_url: str) -> None:
    async def run() -> float:
        watcher = ResultWatcher(redis_url, poll_interval_s=30.0)
        redis = Redis.from_url(redis_url)
        try:
            warm = watcher.new_task_id()  # starts the listener; a poll would take 30 s
            waiting = asyncio.create_task(watcher.wait(warm, timeout_s=5))
            await asyncio.sleep(0.5)
            await _store(redis, warm, publish=True)
            await waiting
            task_id = watcher.new_task_id()
            waiting = asyncio.create_task(watcher.wait(task_id, timeout_s=5))
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            await _store(redis, task_id, publish=True)
            meta = await waiting
            assert meta["result"] == {"ok": 1}
            return time.perf_counter() - started
        finally:
            await watcher.close()
            await redis.aclose()

    assert asyncio.run(run()) < 1.0


def test_an_unannounced_result_is_found_by_the_poll(redis_url: str) -> None:
    async def run() -> None:
        watcher = ResultWatcher(redis_url, poll_interval_s=0.05)
        redis = Redis.from_url(redis_url)
        try:
            task_id = watcher.new_task_id()
            waiting = asyncio.create_task(watcher.wait(task_id, timeout_s=5))
            await asyncio.sleep(0.05)
            await _store(redis, task_id, publish=False)
            assert (await waiting)["status"] == "SUCCESS"
        finally:
            await watcher.close()
            await redis.aclose()

    asyncio.run(run())
