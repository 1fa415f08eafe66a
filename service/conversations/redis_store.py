"""Conversation history in Redis: shared by every API process, kept across restarts.

Keys (``fd:`` prefix): ``conv:{id}:meta`` (hash: owner, token hash), ``conv:{id}:turns``
(list of JSON turns, trimmed to ``max_turns``), ``conv:{id}:count`` (turns ever appended) and
``conv:{id}:lock``. History expires
``ttl_seconds`` after the conversation's last write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fusiondesk.service.conversations.store import ConversationBusyError, ConversationMeta, Turn

if TYPE_CHECKING:
    from redis.asyncio import Redis

PREFIX = "fd:"

# Deletes the lock only if this holder still owns it, so a holder whose lock expired cannot
# free the next holder's lock.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

# Writes a conversation's owner only if it has none: one atomic step, so two processes
# creating the same id cannot mix their owners.
_CREATE = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('hset', KEYS[1], unpack(ARGV, 2))
redis.call('expire', KEYS[1], ARGV[1])
return 1
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _key(conversation_id: str, what: str) -> str:
    return f"{PREFIX}conv:{conversation_id}:{what}"


class RedisConversationStore:
    def __init__(
        self,
        redis: Redis,
        *,
        max_turns: int = 200,
        ttl_seconds: int = 7 * 24 * 3600,
        lock_timeout_seconds: float = 30.0,
    ) -> None:
        self.redis = redis
        self._max_turns = max_turns
        self._ttl = ttl_seconds
        self._lock_timeout = lock_timeout_seconds

    async def create(self, conversation_id: str, meta: ConversationMeta) -> bool:
        fields: list[str] = []
        for name, value in meta.to_dict().items():
            fields += [name, "" if value is None else str(value)]
        created = await self.redis.eval(
            _CREATE, 1, _key(conversation_id, "meta"), self._ttl, *fields
        )
        return bool(created)

    async def meta(self, conversation_id: str) -> ConversationMeta | None:
        raw: dict[bytes | str, bytes | str] = await self.redis.hgetall(
            _key(conversation_id, "meta")
        )
        if not raw:
            return None
        return ConversationMeta.from_dict({_text(k): _text(v) for k, v in raw.items()})

    async def append(self, conversation_id: str, turn: Turn) -> int:
        turns_key, count_key = _key(conversation_id, "turns"), _key(conversation_id, "count")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(turns_key, json.dumps(turn.to_dict()))
            pipe.ltrim(turns_key, -self._max_turns, -1)
            pipe.incr(count_key)
            for key in (turns_key, count_key, _key(conversation_id, "meta")):
                pipe.expire(key, self._ttl)
            results: list[Any] = await pipe.execute()
        return int(results[2])

    async def count(self, conversation_id: str) -> int:
        return int(await self.redis.get(_key(conversation_id, "count")) or 0)

    async def turns(self, conversation_id: str, last: int | None = None) -> list[Turn]:
        if last is not None and last <= 0:
            return []
        start = 0 if last is None else -last
        raw: list[bytes | str] = await self.redis.lrange(_key(conversation_id, "turns"), start, -1)
        return [Turn.from_dict(json.loads(item)) for item in raw]

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str) -> AsyncIterator[None]:
        """A lease (SET NX PX) polled with a short backoff; it expires by itself if its holder
        dies, so a crashed API process cannot block a conversation for longer than the lease."""
        key, holder = _key(conversation_id, "lock"), secrets.token_hex(8)
        lease_ms = int(self._lock_timeout * 1000)
        deadline = time.monotonic() + self._lock_timeout
        pause = 0.002
        while not await self.redis.set(key, holder, nx=True, px=lease_ms):
            if time.monotonic() > deadline:
                raise ConversationBusyError(
                    "Another message of this conversation is still being handled."
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
        try:
            yield
        finally:
            await self.redis.eval(_RELEASE, 1, key, holder)

    async def close(self) -> None:
        await self.redis.aclose()

    async def delete_if_empty(self, conversation_id: str) -> bool:
        deleted = await self.redis.eval(
            _DELETE_IF_EMPTY,
            3,
            _key(conversation_id, "meta"),
            _key(conversation_id, "count"),
            _key(conversation_id, "turns"),
        )
        return bool(deleted)


# KEYS: meta, count, turns. Atomic, so a turn appended meanwhile keeps the conversation.
_DELETE_IF_EMPTY = """
if tonumber(redis.call('get', KEYS[2]) or '0') > 0 or redis.call('llen', KEYS[3]) > 0 then
  return 0
end
return redis.call('del', KEYS[1])
"""
