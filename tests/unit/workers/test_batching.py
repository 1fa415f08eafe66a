"""The worker's thread batcher, and that it batches and isolates failures as the API side does."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from fusiondesk.service.understanding.batching import AsyncBatcher
from fusiondesk.workers.batching import ThreadBatcher

POISON = 5
ITEMS = list(range(8))


def test_threads_that_arrive_together_share_batches() -> None:
    sizes: list[int] = []

    def run(items: Sequence[int]) -> list[int]:
        time.sleep(0.02)
        return [item * 2 for item in items]

    batcher = ThreadBatcher(
        run, max_batch_size=8, max_wait_ms=20, on_batch=lambda size, _: sizes.append(size)
    )
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(batcher.submit, range(20)))
    assert results == [i * 2 for i in range(20)]
    assert max(sizes) > 1 and max(sizes) <= 8 and sum(sizes) == 20


def test_a_poisonous_item_fails_alone() -> None:
    def run(items: Sequence[int]) -> list[int]:
        if 13 in items:
            raise RuntimeError("model crashed")
        return list(items)

    batcher = ThreadBatcher(run, max_batch_size=32, max_wait_ms=50)
    with ThreadPoolExecutor(24) as pool:
        futures = [pool.submit(batcher.submit, i) for i in range(24)]
        outcomes = [f.exception() or f.result() for f in futures]
    assert isinstance(outcomes[13], RuntimeError)
    assert [o for i, o in enumerate(outcomes) if i != 13] == [i for i in range(24) if i != 13]


class GatedModel:
    """Records every batch it runs; the first one (the gate) holds until ``open`` is called, so
    that the items queued meanwhile all land in the next batch, whatever the thread timing."""

    def __init__(self) -> None:
        self.runs: list[list[int]] = []
        self.gate_running = threading.Event()
        self._gate_open = threading.Event()

    def open(self) -> None:
        self._gate_open.set()

    def __call__(self, items: Sequence[int]) -> list[int]:
        if list(items) == [-1]:
            self.gate_running.set()
            self._gate_open.wait(5)
            return [-1]
        self.runs.append(list(items))
        if POISON in items:
            raise RuntimeError("poison")
        return [item * 10 for item in items]


def _through_thread_batcher() -> tuple[list[list[int]], list[object]]:
    model = GatedModel()
    batcher = ThreadBatcher(model, max_batch_size=len(ITEMS), max_wait_ms=1000)
    gate = batcher.enqueue(-1)
    assert model.gate_running.wait(5)
    futures = [batcher.enqueue(item) for item in ITEMS]
    model.open()
    gate.result(5)
    return model.runs, [future.exception(5) or future.result() for future in futures]


def _through_async_batcher() -> tuple[list[list[int]], list[object]]:
    model = GatedModel()

    async def scenario() -> list[object]:
        batcher = AsyncBatcher(model, max_batch_size=len(ITEMS), max_wait_ms=1000)
        try:
            gate = asyncio.create_task(batcher.submit(-1))
            await asyncio.to_thread(model.gate_running.wait, 5)
            outcomes = asyncio.gather(
                *(batcher.submit(item) for item in ITEMS), return_exceptions=True
            )
            await asyncio.sleep(0.05)  # every item in the queue before the gate opens
            model.open()
            await gate
            return list(await outcomes)
        finally:
            await batcher.close()

    outcomes = asyncio.run(scenario())
    return model.runs, outcomes


def test_both_batchers_isolate_a_poisonous_item_the_same_way() -> None:
    thread_runs, thread_outcomes = _through_thread_batcher()
    async_runs, async_outcomes = _through_async_batcher()
    # Bisection: the halves that hold the poison are split again until it stands alone.
    expected_runs = [ITEMS, [0, 1, 2, 3], [4, 5, 6, 7], [4, 5], [4], [5], [6, 7]]
    assert thread_runs == async_runs == expected_runs
    for outcomes in (thread_outcomes, async_outcomes):
        assert isinstance(outcomes[POISON], RuntimeError)
        assert [o for i, o in enumerate(outcomes) if i != POISON] == [
            i * 10 for i in ITEMS if i != POISON
        ]
