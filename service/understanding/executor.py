"""Where model-bound plugin work runs. The router only sees the ``Executor`` interface.

``inline`` (the embedded default) encodes in this process with dynamic batching per plugin;
the Celery executor in ``workers/`` implements the same interface.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from fusiondesk.plugins import Encoding, Payload, PluginRegistry
from fusiondesk.service.understanding.batching import AsyncBatcher


@dataclass(frozen=True)
class EncodeJob:
    """One preprocessed part, addressed to the plugin that encodes it."""

    plugin: str
    payload: Payload


class Executor(Protocol):
    async def encode(self, jobs: Sequence[EncodeJob]) -> list[Encoding]:
        """Encode every job; results in the same order. Raises the plugin's error on failure."""
        ...

    async def warm_up(self) -> None:
        """Load what is needed to serve (models); called once at start-up."""
        ...

    async def close(self) -> None: ...

    def describe(self) -> dict[str, object]:
        """Facts for ``/readyz`` and ``fusiondesk status``."""
        ...


class InlineExecutor:
    """Runs plugins in this process; one dynamic batcher per plugin."""

    def __init__(self, registry: PluginRegistry) -> None:
        self.registry = registry
        self._batchers = {
            plugin.name: AsyncBatcher[Payload, Encoding](
                plugin.embed,
                max_batch_size=plugin.max_batch_size,
                max_wait_ms=plugin.max_wait_ms,
            )
            for plugin in registry
        }

    async def encode(self, jobs: Sequence[EncodeJob]) -> list[Encoding]:
        return list(
            await asyncio.gather(*(self._batchers[job.plugin].submit(job.payload) for job in jobs))
        )

    async def warm_up(self) -> None:
        for plugin in self.registry:
            await asyncio.to_thread(plugin.load)

    async def close(self) -> None:
        for batcher in self._batchers.values():
            await batcher.close()

    def describe(self) -> dict[str, object]:
        return {
            "executor": "inline",
            "plugins": {plugin.name: {"loaded": plugin.loaded} for plugin in self.registry},
        }
