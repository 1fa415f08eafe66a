"""The queue client prepares parts as the router does, before anything is published."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from fusiondesk.plugins import InvalidInputError, Part, PluginRegistry
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import EncodeJob
from fusiondesk.service.understanding.preparation import prepare_parts
from fusiondesk.workers.client import CeleryClient, Handle
from tests.unit.fakes import FakeCaptionPlugin, FakeTextPlugin


class RecordingClient(CeleryClient):
    """Keeps what it would publish instead of publishing it."""

    def __init__(self, settings: Settings, registry: PluginRegistry) -> None:
        super().__init__(settings, registry)
        self.submitted: list[EncodeJob] = []

    async def submit(self, jobs: Sequence[EncodeJob]) -> Handle:
        self.submitted = list(jobs)
        return Handle(tuple(f"task-{i}" for i in range(len(jobs))), tuple(jobs))


def _client() -> RecordingClient:
    registry = PluginRegistry()
    registry.register(FakeTextPlugin())
    registry.register(FakeCaptionPlugin())
    return RecordingClient(Settings(), registry)


def test_submitted_parts_become_the_routers_encode_jobs() -> None:
    client = _client()
    parts = [Part("text", text="hello"), Part("caption", text="error 504")]
    handle = asyncio.run(client.submit_parts(parts))
    assert client.submitted == prepare_parts(client.registry, parts)
    assert [job.plugin for job in handle.jobs] == ["fake_text", "fake_caption"]


def test_an_invalid_part_is_refused_before_anything_is_published() -> None:
    client = _client()
    with pytest.raises(InvalidInputError):
        asyncio.run(client.submit_parts([Part("text", text="fine"), Part("text", text="")]))
    assert client.submitted == []
