"""Webhook deliveries (handoff events, domain actions): async, bounded, never in the way.

A delivery runs as a background task with a timeout, so a slow or failing endpoint never
delays or breaks the customer's reply; failures are logged without the URL's path or query,
which often carry tokens.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

logger = logging.getLogger(__name__)


class WebhookNotifier:
    def __init__(self, *, timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task[bool]] = set()

    def send(self, url: str, event: dict[str, Any]) -> asyncio.Task[bool]:
        """Start delivering ``event`` as JSON; the task's result says whether it arrived."""
        task = asyncio.get_running_loop().create_task(self._deliver(url, event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def _deliver(self, url: str, event: dict[str, Any]) -> bool:
        if self._client is None:
            # Created on first use, inside the event loop that will use and close it.
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        try:
            response = await self._client.post(url, json=event)
            response.raise_for_status()
        except Exception as error:  # noqa: BLE001 - whatever the endpoint does, the chat goes on
            logger.warning(
                "webhook %s to %s failed: %s", event.get("event"), _host(url), type(error).__name__
            )
            return False
        return True

    async def drain(self) -> None:
        """Wait for the deliveries under way (each is bounded by the timeout)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def aclose(self) -> None:
        await self.drain()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"
