"""The conversation store ``settings.store`` names, built beside the stores."""

from __future__ import annotations

import asyncio

from fusiondesk.service.conversations import build_store
from fusiondesk.service.conversations.redis_store import RedisConversationStore
from fusiondesk.service.conversations.store import InMemoryConversationStore, Turn
from fusiondesk.service.settings import ConversationSettings, Settings


def test_the_memory_store_keeps_the_configured_number_of_turns(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"store": "memory", "conversations": ConversationSettings(max_turns=2)}
    )
    store = build_store(configured)
    assert isinstance(store, InMemoryConversationStore)

    async def run() -> list[str]:
        for index in range(3):
            await store.append("c1", Turn(f"m{index}", [], "greet", 0.9, False, "hi", 0.0))
        return [turn.message_id for turn in await store.turns("c1")]

    assert asyncio.run(run()) == ["m1", "m2"]


def test_the_redis_store_uses_the_settings_url_and_closes_its_client(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"store": "redis", "redis_url": "redis://127.0.0.1:1/3"}  # never connected
    )
    store = build_store(configured)
    assert isinstance(store, RedisConversationStore)
    assert store.redis.connection_pool.connection_kwargs["port"] == 1
    asyncio.run(store.close())
