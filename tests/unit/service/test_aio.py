from __future__ import annotations

import asyncio

import pytest

from fusiondesk.service.aio import stop_task


async def _swallows_first_cancel(cancellations: list[int]) -> None:
    """Like a retry loop whose client library turned a cancellation into a TimeoutError."""
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancellations.append(1)
            if len(cancellations) == 1:
                continue
            raise


def test_stop_task_ends_a_task_that_swallowed_one_cancellation() -> None:
    async def scenario() -> list[int]:
        cancellations: list[int] = []
        task = asyncio.create_task(_swallows_first_cancel(cancellations))
        await asyncio.sleep(0)
        await asyncio.wait_for(stop_task(task), timeout=5)
        assert task.cancelled()
        return cancellations

    assert len(asyncio.run(scenario())) == 2


def test_stop_task_logs_a_task_that_failed(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    async def scenario() -> None:
        task = asyncio.create_task(fails())
        await asyncio.sleep(0)
        await stop_task(task)

    asyncio.run(scenario())
    assert "boom" in caplog.text
