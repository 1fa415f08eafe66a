"""No live worker for a queue: new messages are refused at once, waiting ones in time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from fusiondesk.plugins import Encoding, PluginRegistry
from fusiondesk.service.settings import CelerySettings, Settings
from fusiondesk.service.understanding.executor import EncodeJob
from fusiondesk.workers.executor import CeleryExecutor, NoWorkersError
from tests.unit.fakes import FakeTextPlugin

JOB = EncodeJob("fake_text", {"text": "hello"})


def _executor(no_worker_timeout_s: float = 30.0) -> tuple[CeleryExecutor, list[EncodeJob]]:
    registry = PluginRegistry()
    registry.register(FakeTextPlugin())
    settings = Settings(celery=CelerySettings(no_worker_timeout_s=no_worker_timeout_s))
    executor = CeleryExecutor(settings, registry)
    published: list[EncodeJob] = []

    async def never_answered(jobs: Sequence[EncodeJob]) -> list[Encoding]:
        published.extend(jobs)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    executor.client.encode = never_answered  # type: ignore[method-assign]
    return executor, published


def _snapshot(*queues_of_workers: list[str], broker: str = "ok") -> dict[str, Any]:
    workers = [{"hostname": f"w{i}@t", "queues": q} for i, q in enumerate(queues_of_workers)]
    return {"broker": broker, "workers": workers}


def test_a_new_message_is_refused_at_once_without_a_worker_for_its_queue() -> None:
    executor, published = _executor()
    executor._note_unserved_queues(_snapshot(["cpu"]))  # a worker, but not on the gpu queue
    with pytest.raises(NoWorkersError) as refused:
        asyncio.run(executor.encode([JOB]))
    assert refused.value.status == 503 and refused.value.code == "no_workers"
    assert published == []  # nothing queued for nobody
    assert executor.describe()["unserved_queues"] == ["gpu"]


def test_an_unreachable_broker_is_not_reported_as_missing_workers() -> None:
    executor, _ = _executor()
    executor._note_unserved_queues(_snapshot(["cpu"]))
    executor._note_unserved_queues(_snapshot(broker="unreachable: refused"))
    assert executor.describe()["unserved_queues"] == []


def test_a_waiting_message_gives_up_once_its_queue_has_been_unserved_long_enough() -> None:
    executor, published = _executor(no_worker_timeout_s=1.5)

    async def scenario() -> float:
        executor._note_unserved_queues(_snapshot(["gpu"]))
        waiting = asyncio.ensure_future(executor.encode([JOB]))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        executor._note_unserved_queues(_snapshot())  # the last worker is gone
        with pytest.raises(NoWorkersError):
            await waiting
        return time.monotonic() - started

    waited = asyncio.run(scenario())
    assert published == [JOB]
    assert 1.5 <= waited < 3.5  # the timeout, plus at most one health refresh


def test_the_since_of_an_unserved_queue_survives_refreshes() -> None:
    executor, _ = _executor()
    executor._note_unserved_queues(_snapshot())
    first = executor._unserved_since["gpu"]
    executor._note_unserved_queues(_snapshot())
    assert executor._unserved_since["gpu"] == first
    executor._note_unserved_queues(_snapshot(["gpu"]))
    assert executor._unserved_since == {}
