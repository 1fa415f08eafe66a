"""Stopping background asyncio tasks reliably."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

logger = logging.getLogger(__name__)

CANCEL_RETRY_S = 0.5


async def stop_task(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended, cancelling again if it carries on.

    One cancellation is not always enough: a library call can absorb it (redis-py wraps its
    reads in asyncio timeouts and reports them as ``TimeoutError``, which a loop built to ride
    out a slow Redis then swallows). A ``fusiondesk batch`` run hung in ``close()`` that way, its
    health monitor still polling, so keep cancelling until the task has stopped.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_RETRY_S)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("background task %s ended with %r", task.get_name(), task.exception())
