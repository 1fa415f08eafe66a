"""Conversation history in Redis: shared by every API process, kept across restarts.

Keys (``fd:`` prefix): ``conv:{id}:meta`` (hash: owner, token hash), ``conv:{id}:turns``
(list of JSON turns, trimmed to ``max_turns``), ``conv:{id}:count`` (turns ever appended),
``conv:{id}:lock``, ``conv:{id}:ids`` (hash: message id -> sequence, for exactly-once
retries), ``conv:{id}:state`` (hash: version and the JSON state), the sorted set
``handed_off`` (conversations waiting for or with an agent), ``conv:{id}:media:{key}`` (audio
and images kept for the agents) and ``pending`` (hash: messages accepted and not yet answered,
for the next process to answer after a restart). Every call maps Redis being unreachable to a
503 (``redis_client``). History expires ``ttl_seconds`` after the conversation's last write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fusiondesk.service.conversations.pending import PendingMessage, pending_key
from fusiondesk.service.conversations.redis_client import REDIS_FAULTS, guarded, store_faults
from fusiondesk.service.conversations.store import (
    ConversationBusyError,
    ConversationMeta,
    ConversationState,
    Turn,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger(__name__)

PREFIX = "fd:"
PENDING_KEY = f"{PREFIX}pending"

# Deletes the lock only if this holder still owns it, so a holder whose lock expired cannot
# free the next holder's lock.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
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


# Compare-and-set of a conversation's state (hash: version, json) and its place in the index of
# handed-off conversations (sorted set by handoff time), in one step.
_SWAP_STATE = """
local version = tonumber(redis.call('hget', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('hset', KEYS[1], 'version', ARGV[2], 'json', ARGV[3])
redis.call('expire', KEYS[1], ARGV[4])
if ARGV[5] == '1' then redis.call('zadd', KEYS[2], ARGV[6], ARGV[7])
else redis.call('zrem', KEYS[2], ARGV[7]) end
return 1
"""

HANDED_OFF_KEY = f"{PREFIX}handed_off"


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

    @guarded
    async def create(self, conversation_id: str, meta: ConversationMeta) -> bool:
        fields: list[str] = []
        for name, value in meta.to_dict().items():
            fields += [name, "" if value is None else str(value)]
        created = await self.redis.eval(
            _CREATE, 1, _key(conversation_id, "meta"), self._ttl, *fields
        )
        return bool(created)

    @guarded
    async def meta(self, conversation_id: str) -> ConversationMeta | None:
        raw: dict[bytes | str, bytes | str] = await self.redis.hgetall(
            _key(conversation_id, "meta")
        )
        if not raw:
            return None
        return ConversationMeta.from_dict({_text(k): _text(v) for k, v in raw.items()})

    @guarded
    async def append(self, conversation_id: str, turn: Turn) -> int:
        turns_key, count_key = _key(conversation_id, "turns"), _key(conversation_id, "count")
        ids_key = _key(conversation_id, "ids")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(turns_key, json.dumps(turn.to_dict()))
            pipe.ltrim(turns_key, -self._max_turns, -1)
            pipe.incr(count_key)
            pipe.hset(ids_key, turn.message_id, turn.sequence)
            for key in (turns_key, count_key, ids_key, _key(conversation_id, "meta")):
                pipe.expire(key, self._ttl)
            results: list[Any] = await pipe.execute()
        return int(results[2])

    @guarded
    async def find_turn(self, conversation_id: str, message_id: str) -> Turn | None:
        sequence = await self.redis.hget(_key(conversation_id, "ids"), message_id)
        if sequence is None:
            return None
        count = await self.count(conversation_id)
        # The turn sits ``count - sequence`` places from the list's end (older ones are trimmed).
        raw = await self.redis.lindex(_key(conversation_id, "turns"), int(sequence) - count - 1)
        if raw is not None:
            turn = Turn.from_dict(json.loads(raw))
            if turn.message_id == message_id:
                return turn
        # An agent's turn written beside the customer's (not under the lock) can shift the
        # positions; the list is bounded by ``max_turns``, so read it, newest first.
        for turn in reversed(await self.turns(conversation_id)):
            if turn.message_id == message_id:
                return turn
        return None

    @guarded
    async def ping(self) -> None:
        await self.redis.ping()

    @guarded
    async def add_pending(self, message: PendingMessage) -> None:
        await self.redis.hset(PENDING_KEY, message.key, message.to_json())

    @guarded
    async def remove_pending(self, conversation_id: str, message_id: str) -> None:
        await self.redis.hdel(PENDING_KEY, pending_key(conversation_id, message_id))

    @guarded
    async def pending(self) -> list[PendingMessage]:
        raw: dict[bytes | str, bytes | str] = await self.redis.hgetall(PENDING_KEY)
        messages = [PendingMessage.from_json(value) for value in raw.values()]
        return sorted(messages, key=lambda message: message.accepted_at)

    @guarded
    async def count(self, conversation_id: str) -> int:
        return int(await self.redis.get(_key(conversation_id, "count")) or 0)

    @guarded
    async def turns(self, conversation_id: str, last: int | None = None) -> list[Turn]:
        if last is not None and last <= 0:
            return []
        start = 0 if last is None else -last
        raw: list[bytes | str] = await self.redis.lrange(_key(conversation_id, "turns"), start, -1)
        return [Turn.from_dict(json.loads(item)) for item in raw]

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str) -> AsyncIterator[None]:
        """A lease (SET NX PX) polled with a short backoff; it expires by itself if its holder
        dies, so a crashed API process cannot block a conversation for longer than the lease.

        While the holder lives the lease is renewed: a message that waits longer than the lease
        for a busy worker must keep the conversation, or a retry of it (or the next process
        resuming it) would take the lock, find no turn yet and store a second one."""
        key, holder = _key(conversation_id, "lock"), secrets.token_hex(8)
        lease_ms = int(self._lock_timeout * 1000)
        deadline = time.monotonic() + self._lock_timeout
        pause = 0.002
        while True:
            with store_faults():
                if await self.redis.set(key, holder, nx=True, px=lease_ms):
                    break
            if time.monotonic() > deadline:
                raise ConversationBusyError(
                    "Another message of this conversation is still being handled."
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
        renewal = asyncio.create_task(self._keep_lease(key, holder, lease_ms))
        try:
            yield
        finally:
            renewal.cancel()
            try:
                await self.redis.eval(_RELEASE, 1, key, holder)
            except REDIS_FAULTS as error:
                # The lease expires by itself; failing the handled message for it would not.
                logger.warning("releasing %s failed (%s); its lease will expire", key, error)

    async def _keep_lease(self, key: str, holder: str, lease_ms: int) -> None:
        """Renew the lease three times per lease, until cancelled or no longer ours."""
        while True:
            await asyncio.sleep(lease_ms / 3000)
            try:
                if not await self.redis.eval(_RENEW, 1, key, holder, lease_ms):
                    logger.warning("lost the lease %s (expired or taken); not renewing it", key)
                    return
            except REDIS_FAULTS as error:  # Redis restarting: the next beat tries again
                logger.warning("renewing %s failed (%s)", key, error)

    @guarded
    async def state(self, conversation_id: str) -> ConversationState:
        raw = await self.redis.hget(_key(conversation_id, "state"), "json")
        return ConversationState() if raw is None else ConversationState.from_dict(json.loads(raw))

    @guarded
    async def swap_state(
        self, conversation_id: str, expected_version: int, new: ConversationState
    ) -> bool:
        swapped = await self.redis.eval(
            _SWAP_STATE,
            2,
            _key(conversation_id, "state"),
            HANDED_OFF_KEY,
            expected_version,
            new.version,
            json.dumps(new.to_dict()),
            self._ttl,
            "1" if new.handed_off else "0",
            new.handed_off_at or 0.0,
            conversation_id,
        )
        return bool(swapped)

    @guarded
    async def handed_off(self) -> list[str]:
        raw: list[Any] = await self.redis.zrange(HANDED_OFF_KEY, 0, -1)
        return [_text(item) for item in raw]

    @guarded
    async def keep_media(
        self, conversation_id: str, key: str, media_type: str, data: bytes
    ) -> None:
        media_key = _key(conversation_id, f"media:{key}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(media_key, mapping={"type": media_type, "data": data})
            pipe.expire(media_key, self._ttl)
            await pipe.execute()

    @guarded
    async def media(self, conversation_id: str, key: str) -> tuple[str, bytes] | None:
        raw: dict[Any, Any] = await self.redis.hgetall(_key(conversation_id, f"media:{key}"))
        if not raw:
            return None
        return raw[b"type"].decode(), raw[b"data"]

    async def close(self) -> None:
        await self.redis.aclose()

    @guarded
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
