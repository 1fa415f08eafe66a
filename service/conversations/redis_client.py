"""The Redis client of the request path (conversations, locks, rate limits) and its faults.

Redis restarts and pauses are routine (a deploy, a failover, a slow AOF rewrite), so the client
is built to ride them out: pooled connections are health-checked after being idle and a command
on a connection that died with the old server is retried once on a fresh one; a command that
still fails within the socket timeout becomes ``StoreUnavailableError`` (503 + Retry-After), the
client's cue to retry, never a 500.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from fusiondesk.service.errors import StoreUnavailableError

if TYPE_CHECKING:
    from redis.asyncio import Redis

HEALTH_CHECK_INTERVAL_S = 10
"""A pooled connection idle this long is PINGed before use: one that died with a restarted
server is replaced instead of failing the request that picks it up."""

REDIS_FAULTS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)
"""Redis unreachable, restarting (``BusyLoadingError`` is a ``ConnectionError``) or too slow;
``OSError`` for socket errors redis-py lets through."""

P = ParamSpec("P")
R = TypeVar("R")


def connect_redis(url: str, *, timeout_s: float) -> Redis:
    """A client whose every command gives up after ``timeout_s`` (a paused server must not hang
    requests) and is retried once, after a short backoff, on a broken connection."""
    from redis.asyncio import Redis

    return Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=1),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


@contextlib.contextmanager
def store_faults() -> Iterator[None]:
    """Turns Redis being unreachable into ``StoreUnavailableError`` (503 + Retry-After)."""
    try:
        yield
    except REDIS_FAULTS as error:
        raise StoreUnavailableError(
            f"The conversation store is unavailable ({type(error).__name__}); retry shortly."
        ) from error


def guarded(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``store_faults`` around an async method."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with store_faults():
            return await method(*args, **kwargs)

    return call
