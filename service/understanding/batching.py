"""Dynamic batching: requests that arrive together are encoded together.

The policy lives here, once, for both sides: the asyncio batchers below (the API process) and
the worker's thread batcher (``fusiondesk.workers.batching``). In the spirit of Triton's
dynamic batcher, a batch closes when it holds ``max_batch_size`` requests or when its oldest
request has waited ``max_wait_ms``, whichever comes first; a batch that fails is bisected until
the failing request stands alone (``run_isolating_failures``). Model work runs in a worker
thread, so the event loop never blocks on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from fusiondesk.service.aio import stop_task

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class BatchPolicy:
    """When a batch closes. Failures are isolated by ``run_isolating_failures``."""

    max_batch_size: int
    max_wait_ms: float

    def wait_s(self, last_batch_size: int) -> float:
        """How long the next batch waits for company once its first request is in.

        Waiting only pays under load: a lone request after a lone batch goes straight to the
        model, and requests that queue while a batch runs join the next one anyway.
        """
        return self.max_wait_ms / 1000.0 if last_batch_size > 1 else 0.0


@dataclass(frozen=True)
class Failed:
    """One item's outcome when the model raised on it alone: the error is that item's own."""

    error: Exception


def run_isolating_failures(
    run_batch: Callable[[Sequence[In]], list[Out]],
    items: Sequence[In],
    on_batch: Callable[[int, float], None] | None = None,
) -> list[Out | Failed]:
    """Each item's result, or its ``Failed`` error, in item order.

    One poisonous item must not fail its neighbours: a batch that raises is split in halves,
    each run again, until the failing item stands alone. That costs about 2·log2(n) extra runs
    for one bad item in n, where retrying each item alone costs n. ``on_batch`` hears the size
    and seconds of every run that succeeded.
    """
    started = time.perf_counter()
    try:
        results = run_batch(items)
    except Exception as error:
        if len(items) == 1:
            return [Failed(error)]
        middle = len(items) // 2
        return [
            *run_isolating_failures(run_batch, items[:middle], on_batch),
            *run_isolating_failures(run_batch, items[middle:], on_batch),
        ]
    if on_batch is not None:
        on_batch(len(items), time.perf_counter() - started)
    return list(results)


class AsyncBatcher(Generic[In, Out]):
    def __init__(
        self,
        run_batch: Callable[[Sequence[In]], list[Out]],
        *,
        max_batch_size: int,
        max_wait_ms: float,
    ) -> None:
        self._run_batch = run_batch
        self.policy = BatchPolicy(max_batch_size, max_wait_ms)
        self._queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            # A queue belongs to one event loop: start afresh on a new loop (tests, CLI runs).
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._serve())
        future: asyncio.Future[Out] = loop.create_future()
        self._queue.put_nowait((item, future))  # unbounded: never waits
        return await future

    async def close(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
            self._task = None

    async def _serve(self) -> None:
        last_batch_size = 1
        while True:
            batch = [await self._queue.get()]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.policy.wait_s(last_batch_size)
            while len(batch) < self.policy.max_batch_size:
                if not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                    continue
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except TimeoutError:
                    break
            last_batch_size = len(batch)
            await _settle(self._run_batch, batch)


async def _settle(
    run_batch: Callable[[Sequence[In]], list[Out]],
    batch: list[tuple[In, asyncio.Future[Out]]],
    *,
    on_loop: bool = False,
) -> None:
    live = [(item, future) for item, future in batch if not future.cancelled()]
    if not live:
        return
    items = [item for item, _ in live]
    if on_loop:
        outcomes = run_isolating_failures(run_batch, items)
    else:
        # One thread hop for the batch, however many runs isolating a failure takes.
        outcomes = await asyncio.to_thread(run_isolating_failures, run_batch, items)
    for (_, future), outcome in zip(live, outcomes, strict=True):
        if future.done():  # cancelled while its batch ran
            continue
        if isinstance(outcome, Failed):
            future.set_exception(outcome.error)
        else:
            future.set_result(outcome)


class DrainingBatcher(Generic[In, Out]):
    """Batches whatever arrives while the previous batch runs, without waiting for company.

    For cheap models (the fusion classifier) where a wait would cost more than it saves. A
    drain task starts with the first request and ends once nothing is waiting, so there is no
    background task to stop, and a batcher dropped with its model (a hot reload) leaves none
    behind.
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[In]], list[Out]],
        *,
        max_batch_size: int,
        on_loop_up_to: int = 0,
    ) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        # Batches this small run on the event loop: for a model cheaper than a thread hop (two
        # wake-ups and the caches of another core) as long as the batch stays that small.
        self.on_loop_up_to = on_loop_up_to
        self._waiting: list[tuple[In, asyncio.Future[Out]]] = []
        self._drain: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        loop = asyncio.get_running_loop()
        if self._drain is not None and self._drain.get_loop() is not loop:
            # A new event loop (tests, CLI runs): the old one's requests went with it.
            self._waiting, self._drain = [], None
        future: asyncio.Future[Out] = loop.create_future()
        self._waiting.append((item, future))
        if self._drain is None or self._drain.done():
            self._drain = loop.create_task(self._drain_waiting())
        return await future

    async def _drain_waiting(self) -> None:
        while self._waiting:
            batch = self._waiting[: self.max_batch_size]
            del self._waiting[: self.max_batch_size]
            await _settle(self._run_batch, batch, on_loop=len(batch) <= self.on_loop_up_to)
