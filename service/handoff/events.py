"""Live events of handed-off conversations, fanned out to the sockets that follow them.

Two channels: ``agents`` (new handoffs, customer messages, claims: every agent feed) and
``conversation:{id}`` (agent joined, typing, replies: the customer's sockets). In one process
the bus hands events straight to the subscribers' queues; with the Redis store every API
process publishes to Redis and one pub/sub listener per process feeds its local subscribers,
so a customer on one process and an agent on another see each other. Events are a live view:
what was said is in the store, which a reconnecting socket reads first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fusiondesk.service.conversations.redis_client import connect_redis, store_faults
from fusiondesk.service.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

logger = logging.getLogger(__name__)

AGENTS = "agents"
Event = dict[str, Any]


def conversation_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


class EventBus:
    """In-process fan-out (the memory store's bus, and the local half of the Redis one)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = {}

    async def start(self) -> None:
        """Nothing to connect in one process."""

    async def publish(self, channel: str, event: Event) -> None:
        self._deliver(channel, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue that receives the channel's events while the context is open."""
        # Unbounded: a follower is a socket that sends what it gets or hangs up (and leaves).
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            yield queue
        finally:
            followers = self._subscribers.get(channel, set())
            followers.discard(queue)
            if not followers:
                self._subscribers.pop(channel, None)

    async def close(self) -> None:
        self._subscribers.clear()

    def _deliver(self, channel: str, event: Event) -> None:
        for queue in self._subscribers.get(channel, ()):
            queue.put_nowait(event)


class RedisEventBus(EventBus):
    """Publishes through Redis; one pattern subscription per process delivers locally."""

    PREFIX = "fd:events:"

    def __init__(self, redis: Redis) -> None:
        super().__init__()
        self.redis = redis
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._listener is not None:
            return
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.psubscribe(f"{self.PREFIX}*")
        self._listener = asyncio.create_task(self._listen(self._pubsub))

    async def publish(self, channel: str, event: Event) -> None:
        with store_faults():  # 503 + Retry-After, like every Redis call of a request
            await self.redis.publish(self.PREFIX + channel, json.dumps(event))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self.redis.aclose()
        await super().close()

    async def _listen(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - keep listening once Redis is back
                logger.warning("event bus: %s; retrying", type(error).__name__)
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "pmessage":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            self._deliver(channel.removeprefix(self.PREFIX), json.loads(message["data"]))


def build_bus(settings: Settings) -> EventBus:
    """Redis pub/sub when the store is Redis (several API processes), else in-process."""
    if settings.store == "redis":
        # The request path's client: a connection that died with a restarted server is
        # replaced and the command retried, instead of failing the message that publishes.
        return RedisEventBus(connect_redis(settings.redis_url, timeout_s=settings.redis_timeout_s))
    return EventBus()
