from __future__ import annotations

import asyncio
import time

import pytest

from fusiondesk.service.api.ratelimit import InMemoryRateLimiter, retry_after_header
from fusiondesk.service.conversations.store import (
    ConversationBusyError,
    ConversationMeta,
    InMemoryConversationStore,
    Turn,
)


def _turn(message_id: str) -> Turn:
    return Turn(message_id, [], "greet", 0.9, False, "hi", time.time())


def test_turns_come_back_oldest_first_and_trimmed() -> None:
    async def run() -> None:
        store = InMemoryConversationStore(max_turns=3)
        for index in range(5):
            assert await store.append("c", _turn(f"m{index}")) == index + 1
        assert [t.message_id for t in await store.turns("c")] == ["m2", "m3", "m4"]
        assert [t.message_id for t in await store.turns("c", last=2)] == ["m3", "m4"]
        assert await store.turns("c", last=0) == []
        assert await store.count("c") == 5  # trimmed turns still count
        assert await store.turns("other") == []

    asyncio.run(run())


def test_find_turn_finds_a_kept_turn_by_message_id() -> None:
    async def run() -> None:
        store = InMemoryConversationStore(max_turns=2)
        for index in range(3):
            await store.append("c", _turn(f"m{index}"))
        found = await store.find_turn("c", "m2")
        assert found is not None and found.message_id == "m2"
        assert await store.find_turn("c", "m0") is None  # trimmed away
        assert await store.find_turn("c", "unknown") is None
        assert await store.find_turn("other", "m2") is None

    asyncio.run(run())


def test_create_keeps_the_first_owner() -> None:
    async def run() -> None:
        store = InMemoryConversationStore()
        assert await store.create("c", ConversationMeta(1.0, token_sha256="a" * 64))
        assert not await store.create("c", ConversationMeta(2.0, owner="intruder"))
        meta = await store.meta("c")
        assert meta is not None and meta.owner is None and meta.token_sha256 == "a" * 64
        assert await store.meta("nope") is None

    asyncio.run(run())


def test_lock_serialises_one_conversation_but_not_others() -> None:
    async def run() -> None:
        store = InMemoryConversationStore()
        log: list[str] = []

        async def hold(conversation: str, name: str) -> None:
            async with store.lock(conversation):
                log.append(f"{name}+")
                await asyncio.sleep(0.02)
                log.append(f"{name}-")

        await asyncio.gather(hold("c", "a"), hold("c", "b"), hold("d", "x"))
        # a and b never overlap; x (another conversation) runs beside a.
        assert log.index("a-") < log.index("b+")
        assert log.index("x+") < log.index("a-")
        assert not store._locks  # idle conversations keep no lock

    asyncio.run(run())


def test_lock_wait_is_bounded() -> None:
    async def run() -> None:
        store = InMemoryConversationStore(lock_timeout_seconds=0.05)
        async with store.lock("c"):
            with pytest.raises(ConversationBusyError):
                async with store.lock("c"):
                    pass

    asyncio.run(run())


def test_turn_round_trips_through_a_dict_and_ignores_unknown_keys() -> None:
    turn = _turn("m1")
    turn.transcript = "hello"
    assert Turn.from_dict(turn.to_dict() | {"future_field": 1}) == turn


def test_sliding_window_limits_and_says_when_to_retry() -> None:
    async def run() -> None:
        limiter = InMemoryRateLimiter(window=0.2)
        assert all([await limiter.hit("k", 3) is None for _ in range(3)])
        wait = await limiter.hit("k", 3)
        assert wait is not None and 0 < wait <= 0.2
        assert await limiter.hit("other", 3) is None  # buckets are independent
        await asyncio.sleep(wait + 0.01)
        assert await limiter.hit("k", 3) is None

    asyncio.run(run())


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.5, "60")])
def test_retry_after_is_whole_seconds_never_zero(wait: float, header: str) -> None:
    assert retry_after_header(wait) == header
