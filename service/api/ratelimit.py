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


class FailedAuthentications(Protocol):
    """Failed authentications per client IP, with exponential back-off: an IP may fail
    ``free`` times; each further failure makes it wait twice as long (1 s, 2 s, 4 s ... up to
    ``max_wait``) before it may try a key again. Forgotten after ``max_wait`` without one."""

    async def pending(self, ip: str) -> float:
        """Seconds the IP must still wait before its next try (0: it may try now)."""
        ...

    async def failed(self, ip: str) -> int:
        """Records a failure; returns the IP's failures so far."""
        ...


def backoff_seconds(failures: int, free: int, max_wait: float) -> float:
    return 0.0 if failures <= free else min(max_wait, 2.0 ** (failures - free - 1))


def build_failed_authentications(settings: Settings, limiter: RateLimiter) -> FailedAuthentications:
    """Shared through the limiter's Redis when it has one (several API processes)."""
    free, max_wait = settings.auth.failures_before_backoff, settings.auth.max_backoff_s
    if isinstance(limiter, RedisRateLimiter):
        return RedisFailedAuthentications(limiter.redis, free, max_wait)
    return InMemoryFailedAuthentications(free, max_wait)


class InMemoryFailedAuthentications:
    def __init__(self, free: int, max_wait: float, max_ips: int = 100_000) -> None:
        self._free, self._max_wait, self._max_ips = free, max_wait, max_ips
        self._failures: dict[str, tuple[int, float]] = {}  # ip: (failures, until)

    async def pending(self, ip: str) -> float:
        _, until = self._failures.get(ip, (0, 0.0))
        return max(0.0, until - time.monotonic())

    async def failed(self, ip: str) -> int:
        now = time.monotonic()
        failures, until = self._failures.get(ip, (0, 0.0))
        if until + self._max_wait <= now:
            failures = 0  # quiet for long enough: start afresh
        if ip not in self._failures and len(self._failures) >= self._max_ips:
            self._forget_quiet(now)
        failures += 1
        wait = backoff_seconds(failures, self._free, self._max_wait)
        self._failures[ip] = (failures, now + wait)
        return failures

    def _forget_quiet(self, now: float) -> None:
        quiet = [ip for ip, (_, until) in self._failures.items() if until + self._max_wait <= now]
        for ip in quiet:
            del self._failures[ip]


# KEYS[1]: the IP's hash {failures, until}; on Redis's clock, like the rate limits.
_FAILED = """
local t = redis.call('time')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local free, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2])
local failures = redis.call('hincrby', KEYS[1], 'failures', 1)
local wait = 0
if failures > free then wait = math.min(max_wait, 2 ^ (failures - free - 1)) end
redis.call('hset', KEYS[1], 'until', tostring(now + wait))
redis.call('pexpire', KEYS[1], math.ceil((wait + max_wait) * 1000))
return failures
"""
_PENDING = """
local t = redis.call('time')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until = tonumber(redis.call('hget', KEYS[1], 'until') or '0')
return tostring(math.max(0, until - now))
"""


class RedisFailedAuthentications:
    def __init__(self, redis: Redis, free: int, max_wait: float) -> None:
        self.redis = redis
        self._free, self._max_wait = free, max_wait

    async def pending(self, ip: str) -> float:
        return float(await self.redis.eval(_PENDING, 1, f"fd:authfail:{ip}"))

    async def failed(self, ip: str) -> int:
        return int(
            await self.redis.eval(_FAILED, 1, f"fd:authfail:{ip}", self._free, self._max_wait)
        )
