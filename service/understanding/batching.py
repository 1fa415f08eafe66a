"""Dynamic batching for the asyncio side: requests that arrive together are encoded together.

In the spirit of Triton's dynamic batcher: a batch closes when it holds ``max_batch_size``
requests or when its oldest request has waited ``max_wait_ms``, whichever comes first. The
encode function runs in a worker thread so the event loop never blocks on model work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from fusiondesk.service.aio import stop_task

In = TypeVar("In")
Out = TypeVar("Out")


class AsyncBatcher(Generic[In, Out]):
    def __init__(
        self,
        run_batch: Callable[[Sequence[In]], list[Out]],
        *,
        max_batch_size: int,
        max_wait_ms: float,
    ) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self._queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            # A queue belongs to one event loop: start afresh on a new loop (tests, CLI runs).
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._serve())
        future: asyncio.Future[Out] = loop.create_future()
        await self._queue.put((item, future))
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
            # Waiting for company only pays under load: a lone request (the previous batch held
            # one too) goes straight to the model; requests that queue while a batch runs
            # join the next one anyway.
            wait_s = self.max_wait_s if last_batch_size > 1 else 0.0
            deadline = loop.time() + wait_s
            while len(batch) < self.max_batch_size:
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
    run_batch: Callable[[Sequence[In]], list[Out]], batch: list[tuple[In, asyncio.Future[Out]]]
) -> None:
    live = [(item, future) for item, future in batch if not future.cancelled()]
    if not live:
        return
    try:
        results = await asyncio.to_thread(run_batch, [item for item, _ in live])
    except Exception as error:
        if len(live) == 1:
            _resolve(live[0][1], error=error)
            return
        # One bad item must not fail its neighbours: retry each on its own.
        for entry in live:
            await _settle(run_batch, [entry])
        return
    for (_, future), result in zip(live, results, strict=True):
        _resolve(future, result=result)


class DrainingBatcher(Generic[In, Out]):
    """Batches whatever arrives while the previous batch runs, without waiting for company.

    For cheap models (the fusion classifier) where a wait would cost more than it saves. A
    drain task starts with the first request and ends once nothing is waiting, so there is no
    background task to stop, and a batcher dropped with its model (a hot reload) leaves none
    behind.
    """

    def __init__(
        self, run_batch: Callable[[Sequence[In]], list[Out]], *, max_batch_size: int
    ) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
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
            await _settle(self._run_batch, batch)


def _resolve(
    future: asyncio.Future[Out], *, result: Out | None = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
