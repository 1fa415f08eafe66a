"""Dynamic batching on the worker, for Celery's thread (or solo) pool.

Each task thread hands its payload to the model's batcher and blocks; one batching thread per
model gathers what arrives together into one ``encode`` call. The policy (when a batch closes,
how a failing item is isolated) is the API side's: ``fusiondesk.service.understanding.batching``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from fusiondesk.service.understanding.batching import BatchPolicy, Failed, run_isolating_failures

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
        self.policy = BatchPolicy(max_batch_size, max_wait_ms)
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
            deadline = time.monotonic() + self.policy.wait_s(last_batch_size)
            while len(batch) < self.policy.max_batch_size:
                timeout = deadline - time.monotonic()
                try:
                    if timeout <= 0:
                        batch.append(self._queue.get_nowait())
                    else:
                        batch.append(self._queue.get(timeout=timeout))
                except queue.Empty:
                    break
            last_batch_size = len(batch)
            outcomes = run_isolating_failures(
                self._run_batch, [item for item, _ in batch], self._on_batch
            )
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, Failed):
                    future.set_exception(outcome.error)
                else:
                    future.set_result(outcome)
