"""Where model-bound plugin work runs. The router only sees the ``Executor`` interface.

``inline`` (the embedded default) encodes in this process with dynamic batching per plugin;
the Celery executor in ``workers/`` implements the same interface. Both are registered by
name in the ``fusiondesk.executors`` entry-point group (see ``understanding/wiring.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import Metric

from fusiondesk.plugins import Encoding, Payload, PluginRegistry
from fusiondesk.service.settings import Settings
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

    def metrics(self) -> Iterable[Metric]:
        """The executor's own Prometheus families for ``/metrics`` (queue depths, say)."""
        ...

    async def dead_letters(self, limit: int) -> list[dict[str, object]] | None:
        """The latest jobs that failed for good, newest first; None when it keeps none."""
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

    @classmethod
    def from_settings(cls, settings: Settings, registry: PluginRegistry) -> InlineExecutor:
        """The ``inline`` entry point: batching is set per plugin, so settings add nothing."""
        return cls(registry)

    async def encode(self, jobs: Sequence[EncodeJob]) -> list[Encoding]:
        if len(jobs) == 1:  # most messages: awaited here, without a task to gather
            return [await self._batchers[jobs[0].plugin].submit(jobs[0].payload)]
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

    def metrics(self) -> Iterable[Metric]:
        return ()  # no queues or remote workers: the default registry has the in-process figures

    async def dead_letters(self, limit: int) -> list[dict[str, object]] | None:
        return None  # a failed encode fails its request at once: nothing is left to retry
