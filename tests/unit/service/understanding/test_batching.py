from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from fusiondesk.service.understanding.batching import (
    AsyncBatcher,
    BatchPolicy,
    DrainingBatcher,
    Failed,
    run_isolating_failures,
)


def test_only_a_batch_after_a_busy_one_waits_for_company() -> None:
    policy = BatchPolicy(max_batch_size=8, max_wait_ms=20)
    assert policy.wait_s(last_batch_size=1) == 0.0
    assert policy.wait_s(last_batch_size=2) == 0.02


def test_a_failing_batch_is_bisected_until_the_failing_item_stands_alone() -> None:
    runs: list[list[int]] = []
    succeeded: list[int] = []

    def run(items: Sequence[int]) -> list[int]:
        runs.append(list(items))
        if 6 in items:
            raise ValueError("poison")
        return [item + 1 for item in items]

    outcomes = run_isolating_failures(
        run, list(range(16)), on_batch=lambda size, _: succeeded.append(size)
    )
    assert outcomes[:6] == list(range(1, 7)) and outcomes[7:] == list(range(8, 17))
    failed = outcomes[6]
    assert isinstance(failed, Failed) and isinstance(failed.error, ValueError)
    # One bad item in 16 costs 2·log2(16) = 8 extra runs, not 16.
    assert len(runs) == 9
    assert sorted(succeeded) == [1, 2, 4, 8]


def test_concurrent_requests_share_batches() -> None:
    seen: list[int] = []

    def run(items: Sequence[int]) -> list[int]:
        seen.append(len(items))
        time.sleep(0.02)
        return [item * 2 for item in items]

    async def main() -> list[int]:
        batcher = AsyncBatcher(run, max_batch_size=8, max_wait_ms=20)
        try:
            return list(await asyncio.gather(*(batcher.submit(i) for i in range(20))))
        finally:
            await batcher.close()

    assert asyncio.run(main()) == [i * 2 for i in range(20)]
    assert max(seen) > 1 and max(seen) <= 8 and sum(seen) == 20


def test_lone_request_does_not_wait_for_company() -> None:
    async def main() -> float:
        batcher = AsyncBatcher(lambda items: list(items), max_batch_size=8, max_wait_ms=500)
        try:
            await batcher.submit(0)
            started = time.perf_counter()
            await batcher.submit(1)
            return time.perf_counter() - started
        finally:
            await batcher.close()

    assert asyncio.run(main()) < 0.25


def test_one_failing_item_does_not_fail_its_batch() -> None:
    def run(items: Sequence[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("bad item")
        return [item.upper() for item in items]

    async def main() -> list[object]:
        batcher = AsyncBatcher(run, max_batch_size=8, max_wait_ms=50)
        try:
            return list(
                await asyncio.gather(
                    *(batcher.submit(x) for x in ["a", "bad", "c"]), return_exceptions=True
                )
            )
        finally:
            await batcher.close()

    results = asyncio.run(main())
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError)


def test_model_work_runs_off_the_event_loop_thread() -> None:
    threads: list[int] = []

    def run(items: Sequence[int]) -> list[int]:
        threads.append(threading.get_ident())
        return list(items)

    async def main() -> None:
        batcher = AsyncBatcher(run, max_batch_size=2, max_wait_ms=0)
        try:
            await batcher.submit(1)
        finally:
            await batcher.close()

    asyncio.run(main())
    assert threads and threads[0] != threading.get_ident()


@pytest.mark.parametrize("size", [1, 3])
def test_batches_never_exceed_max_size(size: int) -> None:
    seen: list[int] = []

    def run(items: Sequence[int]) -> list[int]:
        seen.append(len(items))
        return list(items)

    async def main() -> None:
        batcher = AsyncBatcher(run, max_batch_size=size, max_wait_ms=10)
        try:
            await asyncio.gather(*(batcher.submit(i) for i in range(10)))
        finally:
            await batcher.close()

    asyncio.run(main())
    assert max(seen) <= size and sum(seen) == 10


def test_draining_batcher_batches_what_arrives_while_a_batch_runs() -> None:
    seen: list[list[int]] = []

    def run(items: Sequence[int]) -> list[int]:
        seen.append(list(items))
        time.sleep(0.02)
        return [item + 100 for item in items]

    batcher = DrainingBatcher[int, int](run, max_batch_size=4)

    async def scenario() -> list[int]:
        return list(await asyncio.gather(*(batcher.submit(i) for i in range(7))))

    assert asyncio.run(scenario()) == [100 + i for i in range(7)]
    # Nothing waits for company: all seven were queued before the first batch ran, and the
    # size cap splits them.
    assert [len(batch) for batch in seen] == [4, 3]
    assert sorted(item for batch in seen for item in batch) == list(range(7))


def test_draining_batcher_isolates_a_failing_item_and_serves_a_new_loop() -> None:
    def run(items: Sequence[int]) -> list[int]:
        if 3 in items:
            raise ValueError("poison")
        return [item * 2 for item in items]

    batcher = DrainingBatcher[int, int](run, max_batch_size=8)

    async def scenario() -> list[object]:
        return list(
            await asyncio.gather(*(batcher.submit(i) for i in range(5)), return_exceptions=True)
        )

    first = asyncio.run(scenario())
    assert first[:3] == [0, 2, 4] and first[4] == 8
    assert isinstance(first[3], ValueError)
    # A second event loop (a CLI run after a test) gets a fresh drain task.
    assert asyncio.run(scenario())[4] == 8


def test_draining_batcher_runs_a_lone_item_on_the_loop_and_a_batch_in_a_thread() -> None:
    threads: list[tuple[int, bool]] = []

    def run(items: Sequence[int]) -> list[int]:
        threads.append((len(items), threading.current_thread() is threading.main_thread()))
        return [item + 1 for item in items]

    batcher = DrainingBatcher[int, int](run, max_batch_size=8, on_loop_up_to=1)

    async def scenario() -> None:
        assert await batcher.submit(1) == 2
        assert list(await asyncio.gather(*(batcher.submit(i) for i in range(3)))) == [1, 2, 3]

    asyncio.run(scenario())
    assert threads == [(1, True), (3, False)]
