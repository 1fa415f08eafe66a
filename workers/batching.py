"""Dynamic batching on the worker, for Celery's thread (or solo) pool.

Each task thread hands its payload to the model's batcher and blocks; one batching thread per
model gathers what arrives together into one ``encode`` call. The policy is the API side's
(``fusiondesk.service.understanding.batching.AsyncBatcher``): a batch closes at ``max_batch_size``
or when its oldest request has waited ``max_wait_ms``, and a lone request goes straight to the
model.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class ThreadBatcher(Generic[In, Out]):
    def __init__(
        self,
        run_batch: Callable[[Sequence[In]], list[Out]],
        *,
        max_batch_size: int,
        max_wait_ms: float,
        on_batch: Callable[[int, float], None] | None = None,
        name: str = "batcher",
    ) -> None:
        self._run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[tuple[In, Future[Out]]] = queue.SimpleQueue()
        # A daemon is safe: Celery's warm shutdown waits for the task threads, and each of them
        # waits for its batch, so in-flight batches finish before the process exits.
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: In) -> Out:
        """Encode ``item`` with whatever arrives with it; blocks until its result is ready."""
        return self.enqueue(item).result()

    def enqueue(self, item: In) -> Future[Out]:
        """Queue ``item`` without waiting: items queued back to back can share a batch."""
        future: Future[Out] = Future()
        self._queue.put((item, future))
        return future

    def _serve(self) -> None:
        last_batch_size = 1
        while True:
            batch = [self._queue.get()]
            wait_s = self.max_wait_s if last_batch_size > 1 else 0.0
            deadline = time.monotonic() + wait_s
            while len(batch) < self.max_batch_size:
                timeout = deadline - time.monotonic()
                try:
                    if timeout <= 0:
                        batch.append(self._queue.get_nowait())
                    else:
                        batch.append(self._queue.get(timeout=timeout))
                except queue.Empty:
                    break
            last_batch_size = len(batch)
            self._settle(batch)

    def _settle(self, batch: list[tuple[In, Future[Out]]]) -> None:
        started = time.perf_counter()
        try:
            results = self._run_batch([item for item, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            # One poisonous payload must not fail its neighbours: bisect until it stands alone
            # (a few extra batches, not one encode per neighbour).
            middle = len(batch) // 2
            self._settle(batch[:middle])
            self._settle(batch[middle:])
            return
        if self._on_batch is not None:
            self._on_batch(len(batch), time.perf_counter() - started)
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
