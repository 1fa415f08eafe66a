"""Part preparation: each part validated and decoded by the plugin that claims it.

Cheap next to encoding, so it runs where the message arrives, whichever executor then encodes
the jobs: the router prepares here, and so does the queue client (``fusiondesk.workers.client``)
for systems that submit parts to the workers themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fusiondesk.plugins import Part, PluginRegistry
from fusiondesk.service.understanding.executor import EncodeJob


def prepare_parts(registry: PluginRegistry, parts: Sequence[Part]) -> list[EncodeJob]:
    """One encode job per part, in part order (raises the plugin's ``InputError``)."""
    jobs = []
    for part in parts:
        plugin = registry.for_part_type(part.type)
        jobs.append(EncodeJob(plugin.name, plugin.preprocess(part)))
    return jobs


async def prepare_parts_off_loop(
    registry: PluginRegistry, parts: Sequence[Part]
) -> list[EncodeJob]:
    """``prepare_parts`` without blocking the event loop on decoding audio or images."""
    if any(part.data is not None for part in parts):
        return await asyncio.to_thread(prepare_parts, registry, parts)
    # Text alone costs microseconds; a thread hop would cost more, and would scatter messages
    # that arrived together so they could no longer be batched together.
    return prepare_parts(registry, parts)
