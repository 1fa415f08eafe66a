"""Sliding-window rate limits: at most ``limit`` hits per ``window`` seconds per bucket.

A bucket is a key name or a client IP. The window slides (a log of hit times, not fixed
minutes), so a client cannot burst twice the limit across a minute boundary. In memory for one
process; in Redis when the service runs several API processes (``store = "redis"``, which
shares conversations between them too). The API builds its limiter and keeps it on
``app.state.limiter``: limits are an HTTP concern, so the service core knows nothing of them.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from typing import TYPE_CHECKING, Protocol

from fusiondesk.service.settings import Settings

if TYPE_CHECKING:
    from redis.asyncio import Redis

WINDOW_SECONDS = 60.0


class RateLimiter(Protocol):
    async def hit(self, bucket: str, limit: int) -> float | None:
        """Count one hit; None when allowed, else the seconds until one would be."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raises ``StoreUnavailableError`` when the limits' store cannot be reached."""
        ...


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Shared through Redis when conversations are (several API processes), else in memory."""
    if settings.store == "redis":
        from fusiondesk.service.conversations.redis_client import connect_redis

        return RedisRateLimiter(
            connect_redis(settings.redis_url, timeout_s=settings.redis_timeout_s)
        )
    return InMemoryRateLimiter()


class InMemoryRateLimiter:
    def __init__(self, window: float = WINDOW_SECONDS, max_buckets: int = 100_000) -> None:
        self._window = window
        self._max_buckets = max_buckets
        self._hits: dict[str, deque[float]] = {}

    async def hit(self, bucket: str, limit: int) -> float | None:
        now = time.monotonic()
        hits = self._hits.get(bucket)
        if hits is None:
            if len(self._hits) >= self._max_buckets:
                self._forget_idle(now)
            hits = self._hits[bucket] = deque()
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= limit:
            return hits[0] + self._window - now
        hits.append(now)
        return None

    async def close(self) -> None:
        """Nothing to release: the hits live in this process."""

    async def ping(self) -> None:
        """Always reachable: the hits live in this process."""

    def _forget_idle(self, now: float) -> None:
        idle = [b for b, hits in self._hits.items() if not hits or hits[-1] <= now - self._window]
        for bucket in idle:
            del self._hits[bucket]


# One atomic step on Redis's own clock, so API processes with skewed clocks agree.
_HIT = """
local now_parts = redis.call('time')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
if redis.call('zcard', KEYS[1]) >= limit then
  local oldest = redis.call('zrange', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('zadd', KEYS[1], now, ARGV[3])
redis.call('pexpire', KEYS[1], math.ceil(window * 1000))
return '-1'
"""


class RedisRateLimiter:
    """Shares its limits across API processes; ``close`` closes its Redis client."""

    def __init__(self, redis: Redis, window: float = WINDOW_SECONDS) -> None:
        # Imported here, as redis itself is: the in-memory service runs without the package.
        from fusiondesk.service.conversations.redis_client import store_faults

        self.redis = redis
        self._window = window
        self._faults = store_faults

    async def hit(self, bucket: str, limit: int) -> float | None:
        with self._faults():
            wait = float(
                await self.redis.eval(
                    _HIT, 1, f"fd:rl:{bucket}", self._window, limit, secrets.token_hex(8)
                )
            )
        return None if wait < 0 else wait

    async def close(self) -> None:
        await self.redis.aclose()

    async def ping(self) -> None:
        with self._faults():
            await self.redis.ping()


def retry_after_header(wait_seconds: float) -> str:
    """Whole seconds, never 0: a client told to retry after 0 s would hammer the server."""
    return str(max(1, math.ceil(wait_seconds)))
