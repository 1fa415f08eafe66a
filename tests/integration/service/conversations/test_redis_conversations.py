"""Conversations in a real Redis: shared by API processes, kept across a restart, in order."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from fusiondesk.service.api.ratelimit import RedisRateLimiter
from fusiondesk.service.conversations.redis_store import RedisConversationStore
from fusiondesk.service.conversations.store import ConversationBusyError, ConversationMeta, Turn
from tests.integration.servers import ApiProcess, running_api

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _turn(message_id: str) -> Turn:
    return Turn(message_id, [], "greet", 0.9, False, "hello", time.time(), transcript="hi")


def test_store_keeps_turns_with_a_ttl_and_locks_across_clients(redis_url: str) -> None:
    async def run() -> None:
        # Two clients stand for two API processes.
        first = RedisConversationStore(Redis.from_url(redis_url), max_turns=3, ttl_seconds=600)
        second = RedisConversationStore(Redis.from_url(redis_url), lock_timeout_seconds=5)
        try:
            assert await first.create("s1", ConversationMeta(1.0, token_sha256="f" * 64))
            assert not await second.create("s1", ConversationMeta(2.0, owner="other"))
            assert await second.meta("s1") == ConversationMeta(1.0, token_sha256="f" * 64)
            for index in range(4):
                await first.append("s1", _turn(f"m{index}"))
            assert [t.message_id for t in await second.turns("s1")] == ["m1", "m2", "m3"]
            assert [t.message_id for t in await second.turns("s1", last=1)] == ["m3"]
            assert await second.count("s1") == 4
            for what in ("meta", "turns", "count"):
                assert 0 < await first.redis.ttl(f"fd:conv:s1:{what}") <= 600

            log: list[str] = []

            async def hold(store: RedisConversationStore, name: str) -> None:
                async with store.lock("s1"):
                    log.append(f"{name}+")
                    await asyncio.sleep(0.05)
                    log.append(f"{name}-")

            await asyncio.gather(hold(first, "a"), hold(second, "b"))
            assert log in (["a+", "a-", "b+", "b-"], ["b+", "b-", "a+", "a-"])
        finally:
            await first.close()
            await second.close()

    asyncio.run(run())


def test_a_lock_held_longer_than_its_lease_stays_held(redis_url: str) -> None:
    """A message waiting for a busy worker past the lease keeps its conversation: a retry
    taking the lock then would find no turn yet and store the message a second time (seen by
    bench/chaos.py). The lease still lapses once its holder is gone."""

    async def run() -> None:
        holder = RedisConversationStore(Redis.from_url(redis_url), lock_timeout_seconds=0.3)
        retry = RedisConversationStore(Redis.from_url(redis_url), lock_timeout_seconds=0.3)
        try:
            async with holder.lock("lease"):
                await asyncio.sleep(1.0)  # three leases
                with pytest.raises(ConversationBusyError):
                    async with retry.lock("lease"):
                        pass
            async with retry.lock("lease"):  # released at once on exit
                pass
            await holder.redis.set("fd:conv:gone:lock", "dead-holder", px=300)
            async with retry.lock("gone"):  # a dead holder's lease is not renewed
                pass
        finally:
            await holder.close()
            await retry.close()

    asyncio.run(run())


def test_store_finds_a_kept_turn_by_message_id(redis_url: str) -> None:
    async def run() -> None:
        store = RedisConversationStore(Redis.from_url(redis_url), max_turns=2, ttl_seconds=600)
        try:
            for index in range(3):
                turn = _turn(f"f{index}")
                turn.sequence = index + 1
                await store.append("find", turn)
            found = await store.find_turn("find", "f1")
            assert found is not None and (found.message_id, found.sequence) == ("f1", 2)
            assert await store.find_turn("find", "f0") is None  # trimmed away
            assert await store.find_turn("find", "unknown") is None
            assert 0 < await store.redis.ttl("fd:conv:find:ids") <= 600
        finally:
            await store.close()

    asyncio.run(run())


def test_rate_limits_are_shared_through_redis(redis_url: str) -> None:
    async def run() -> None:
        one, two = Redis.from_url(redis_url), Redis.from_url(redis_url)
        try:
            first, second = RedisRateLimiter(one), RedisRateLimiter(two)
            for _ in range(3):
                assert await first.hit("test:shared", 3) is None
            wait = await second.hit("test:shared", 3)
            assert wait is not None and 0 < wait <= 60
        finally:
            await one.aclose()
            await two.aclose()

    asyncio.run(run())


class ApiPair:
    """Two API processes on one Redis; either can be restarted."""

    def __init__(self, model_dir: Path, logs: Path, env: dict[str, str]) -> None:
        self._model_dir, self._logs, self._env = model_dir, logs, env
        self._stacks = [contextlib.ExitStack(), contextlib.ExitStack()]
        self.processes = [self._start(0), self._start(1)]

    def _start(self, index: int) -> ApiProcess:
        log = self._logs / f"api-{index}-{time.monotonic_ns()}.log"
        return self._stacks[index].enter_context(running_api(self._model_dir, log, **self._env))

    def restart(self, index: int) -> None:
        self._stacks[index].close()
        self.processes[index] = self._start(index)

    def stop(self) -> None:
        for stack in self._stacks:
            stack.close()


@pytest.fixture(scope="module")
def apis(
    demo_model_dir: Path, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiPair]:
    env = {"FUSIONDESK_STORE": "redis", "FUSIONDESK_REDIS_URL": redis_url}
    pair = ApiPair(demo_model_dir, tmp_path_factory.mktemp("api-logs"), env)
    try:
        yield pair
    finally:
        pair.stop()


def _send(url: str, conversation_id: str, token: str, message_id: str, text: str) -> None:
    response = httpx.post(
        f"{url}/v1/messages",
        json={
            "conversation_id": conversation_id,
            "message_id": message_id,
            "parts": [{"type": "text", "text": text}],
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text


def test_two_processes_keep_one_conversation_in_order(apis: ApiPair) -> None:
    first, second = apis.processes
    created = httpx.post(f"{first.url}/v1/conversations").json()
    conversation_id, token = created["conversation_id"], created["token"]
    clients, messages = 6, 5
    texts = ["where is my parcel", "I want a refund", "my payment failed", "cancel my order"]

    def client(number: int) -> None:
        # Each client alternates between the processes, one message after the other.
        for index in range(messages):
            api = (first, second)[(number + index) % 2]
            _send(api.url, conversation_id, token, f"c{number}-{index}", texts[index % 4])

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))

    body = httpx.get(
        f"{second.url}/v1/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    customer = [t for t in body["turns"] if t["role"] == "customer"]
    ids = [t["message_id"] for t in customer]
    assert sorted(ids) == sorted(f"c{n}-{i}" for n in range(clients) for i in range(messages))
    # Under the conversation lock each handler saw every earlier turn: no two share a number.
    assert [t["sequence"] for t in customer] == list(range(1, clients * messages + 1))
    for number in range(clients):
        mine = [i for i in ids if i.startswith(f"c{number}-")]
        assert mine == [f"c{number}-{index}" for index in range(messages)]
    assert [t["message_id"] for t in body["turns"] if t["role"] == "bot"] == ids


def test_history_survives_an_api_restart(apis: ApiPair) -> None:
    api = apis.processes[0]
    created = httpx.post(f"{api.url}/v1/conversations").json()
    conversation_id, token = created["conversation_id"], created["token"]
    _send(api.url, conversation_id, token, "r1", "where is my parcel")
    _send(api.url, conversation_id, token, "r2", "the parcel arrived damaged")
    apis.restart(0)
    api = apis.processes[0]
    headers = {"Authorization": f"Bearer {token}"}
    body = httpx.get(f"{api.url}/v1/conversations/{conversation_id}", headers=headers).json()
    assert [(t["message_id"], t["role"]) for t in body["turns"]] == [
        ("r1", "customer"), ("r1", "bot"), ("r2", "customer"), ("r2", "bot"),
    ]  # fmt: skip
    assert body["turns"][0]["intent"] == "order_status"
    assert body["turns"][2]["intent"] == "damaged_item"
    # The token still guards it after the restart.
    assert httpx.get(f"{api.url}/v1/conversations/{conversation_id}").status_code == 404
    _send(api.url, conversation_id, token, "r3", "I want a refund")
    body = httpx.get(f"{api.url}/v1/conversations/{conversation_id}", headers=headers).json()
    assert [t["sequence"] for t in body["turns"] if t["role"] == "customer"] == [1, 2, 3]
