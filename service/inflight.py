"""The messages a process is handling, for a shutdown bounded by a grace period."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fusiondesk.service.errors import ShuttingDownError


class InFlight:
    """The messages this process is handling, so that a stop waits for them a bounded time.

    After ``stop`` new messages are refused with ``ShuttingDownError``; those in flight may
    finish for ``grace_s`` seconds, then they are cancelled and answered ``ShuttingDownError``
    too (503 + Retry-After: the client retries with the same message id on the next process).
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.stopping = False
        self._expired = False

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        if self.stopping:
            raise ShuttingDownError("The service is restarting; retry with the same message id.")
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            yield
        except asyncio.CancelledError:
            if not self._expired:
                raise
            task.uncancel()  # this cancellation is answered here, not propagated
            raise ShuttingDownError(
                "The service stopped before answering; retry with the same message id."
            ) from None
        finally:
            self._tasks.discard(task)

    def stop(self, grace_s: float) -> None:
        """Refuse new messages now; cut off those in flight after ``grace_s`` seconds."""
        if self.stopping:
            return
        self.stopping = True
        asyncio.get_running_loop().call_later(grace_s, self._expire)

    def _expire(self) -> None:
        self._expired = True
        for task in self._tasks:
            task.cancel()
