"""Handoff across two real API processes on one Redis: the customer on one, the agent on the
other; every message reaches the other side, a second claim gets 409, and restarting either
process loses nothing."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.sync.client import ClientConnection, connect

from fusiondesk.service.conversations.redis_store import RedisConversationStore
from fusiondesk.service.conversations.store import ConversationState
from fusiondesk.service.handoff.desk import HandoffConflictError, HandoffDesk
from fusiondesk.service.handoff.events import EventBus
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.fusion import Prediction
from tests.integration.service.conversations.test_redis_conversations import ApiPair

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TIMEOUT_S = 30
PREDICTION = Prediction("talk_to_human", 0.9, [], False)


@pytest.fixture(scope="module")
def apis(
    demo_model_dir: Path, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiPair]:
    env = {"FUSIONDESK_STORE": "redis", "FUSIONDESK_REDIS_URL": redis_url}
    pair = ApiPair(demo_model_dir, tmp_path_factory.mktemp("handoff-api-logs"), env)
    try:
        yield pair
    finally:
        pair.stop()


def _ws(url: str, path: str) -> ClientConnection:
    return connect(url.replace("http://", "ws://") + path, open_timeout=TIMEOUT_S)


def _next(socket: ClientConnection, event: str, conversation_id: str | None = None) -> Any:
    """The next event of that kind (about that conversation), skipping others."""
    while True:
        received = json.loads(socket.recv(timeout=TIMEOUT_S))
        wanted = conversation_id is None or received.get("conversation_id") == conversation_id
        if received["event"] == event and wanted:
            return received


def _say(socket: ClientConnection, text: str) -> None:
    socket.send(json.dumps({"type": "message", "parts": [{"type": "text", "text": text}]}))


def _agent(url: str, conversation_id: str, action: str, agent: str, **body: Any) -> Any:
    return httpx.post(
        f"{url}/v1/agent/conversations/{conversation_id}/{action}",
        headers={"X-Agent-Name": agent},
        json=body or None,
        timeout=TIMEOUT_S,
    )


def test_customer_on_one_process_agent_on_the_other(apis: ApiPair) -> None:
    customer_api, agent_api = apis.processes
    created = httpx.post(f"{customer_api.url}/v1/conversations").json()
    conversation_id, token = created["conversation_id"], created["token"]
    chat_path = f"/v1/conversations/{conversation_id}/ws?token={token}"

    with _ws(agent_api.url, "/v1/agent/feed?agent=alice") as feed:
        _next(feed, "queue")
        with _ws(customer_api.url, chat_path) as customer:
            _next(customer, "history")
            _say(customer, "Can I speak to a real person please?")
            assert _next(customer, "reply")["handoff"] is True
            _next(customer, "handoff")
            assert _next(feed, "handoff", conversation_id)["reason"] == "requested"

            _say(customer, "my order 12345 never arrived")
            shown = _next(feed, "customer_message", conversation_id)
            assert shown["entries"][0]["text"] == "my order 12345 never arrived"

            assert _agent(agent_api.url, conversation_id, "claim", "alice").status_code == 200
            second = _agent(customer_api.url, conversation_id, "claim", "bob")
            assert second.status_code == 409, second.text
            assert _agent(agent_api.url, conversation_id, "reply", "alice", text="Alice here")
            assert _next(customer, "agent_joined")["agent"] == "alice"
            assert _next(customer, "agent_message")["entries"][0]["text"] == "Alice here"

    # Both processes go down and come back (at once, to keep the test short).
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(apis.restart, [0, 1]))
    customer_api, agent_api = apis.processes
    opened = httpx.get(f"{agent_api.url}/v1/agent/conversations/{conversation_id}").json()
    assert opened["state"]["state"] == "agent" and opened["state"]["agent"] == "alice"
    acknowledgement = "Thanks, a colleague has your message and will reply here shortly."
    assert [(t["role"], t.get("text")) for t in opened["turns"]][2:] == [
        ("customer", "my order 12345 never arrived"),
        ("bot", acknowledgement),
        ("agent", "Alice here"),
    ]
    assert _agent(customer_api.url, conversation_id, "claim", "bob").status_code == 409

    with (
        _ws(agent_api.url, "/v1/agent/feed?agent=alice") as feed,
        _ws(customer_api.url, chat_path) as customer,
    ):
        history = _next(customer, "history")
        assert (history["state"], history["agent"]) == ("agent", "alice")
        roles = [t["role"] for t in history["turns"]]
        assert roles == ["customer", "bot", "customer", "bot", "agent"]
        _say(customer, "thanks, any news?")
        assert _next(customer, "held")
        news = _next(feed, "customer_message", conversation_id)
        assert news["entries"][0]["text"] == "thanks, any news?"
        _agent(agent_api.url, conversation_id, "reply", "alice", text="It ships today")
        assert _next(customer, "agent_message")["entries"][0]["text"] == "It ships today"


def test_concurrent_claims_through_two_redis_clients_have_one_winner(redis_url: str) -> None:
    """The Lua compare-and-set: ten claims at once from two 'processes', one wins."""

    async def run() -> None:
        stores = [RedisConversationStore(Redis.from_url(redis_url)) for _ in range(2)]
        desks = [HandoffDesk(store, EventBus(), Settings()) for store in stores]
        conversation_id = "claim-race-" + secrets.token_hex(4)
        try:
            await desks[0].hand_off(conversation_id, "requested", PREDICTION)
            assert conversation_id in await stores[1].handed_off()
            outcomes = await asyncio.gather(
                *(desks[n % 2].claim(conversation_id, f"agent{n}") for n in range(10)),
                return_exceptions=True,
            )
            winners = [o for o in outcomes if isinstance(o, ConversationState)]
            assert len(winners) == 1, outcomes
            assert all(isinstance(o, HandoffConflictError) for o in outcomes if o not in winners)
            stored = await stores[1].state(conversation_id)
            assert (stored.state, stored.agent) == ("agent", winners[0].agent)
            await desks[1].resolve(conversation_id, stored.agent or "")
            assert conversation_id not in await stores[0].handed_off()
        finally:
            for desk, store in zip(desks, stores, strict=True):
                await desk.close()
                await store.close()

    asyncio.run(run())
