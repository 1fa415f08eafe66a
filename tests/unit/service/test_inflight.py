from __future__ import annotations

import asyncio

import pytest

from fusiondesk.service.errors import ShuttingDownError
from fusiondesk.service.inflight import InFlight


def test_stop_refuses_new_messages_and_cuts_off_stuck_ones_after_the_grace() -> None:
    async def run() -> None:
        in_flight = InFlight()
        finished: list[str] = []

        async def message(name: str, seconds: float) -> str:
            async with in_flight.track():
                await asyncio.sleep(seconds)
                finished.append(name)
                return name

        quick = asyncio.create_task(message("quick", 0.05))
        stuck = asyncio.create_task(message("stuck", 60))
        await asyncio.sleep(0.01)
        in_flight.stop(0.2)
        with pytest.raises(ShuttingDownError):
            await message("late", 0)
        assert await quick == "quick"  # finished within the grace
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ShuttingDownError):
            await stuck
        assert loop.time() - started < 1
        assert finished == ["quick"] and not stuck.cancelled()

    asyncio.run(run())


def test_a_cancellation_before_the_deadline_stays_a_cancellation() -> None:
    async def run() -> None:
        in_flight = InFlight()

        async def message() -> None:
            async with in_flight.track():
                await asyncio.sleep(60)

        task = asyncio.create_task(message())
        await asyncio.sleep(0.01)
        task.cancel()  # a client that hung up, not a stop
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
