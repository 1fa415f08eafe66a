"""Operational records kept in Redis beside the queues: worker statistics and dead letters.

Workers publish a statistics record every heartbeat (with a time-to-live, so a dead worker
disappears by itself); ``fusiondesk status``, ``/readyz`` and ``/metrics`` read them. A message
that fails for good leaves a dead-letter record, readable through the API and the CLI.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

WORKER_KEY_PREFIX = "fusiondesk:workers:"
DEAD_LETTER_KEY = "fusiondesk:dead-letters"
DEAD_LETTERS_KEPT = 10_000


@dataclass
class ModelStats:
    """What one worker saw of one model: how it batched, how long it took, how often it failed."""

    loaded: bool = False
    batches: int = 0
    items: int = 0
    batch_sizes: Counter[int] = field(default_factory=Counter)
    seconds_total: float = 0.0
    errors: int = 0


class WorkerStats:
    """One worker process's statistics; thread-safe, published to Redis by ``publish``."""

    def __init__(self, hostname: str, queues: list[str], device: str, plugins: list[str]):
        self.hostname = hostname
        self.queues = queues
        self.device = device
        self.started_at = time.time()
        self.models = {name: ModelStats() for name in plugins}
        self._lock = threading.Lock()

    def record_batch(self, plugin: str, size: int, seconds: float) -> None:
        with self._lock:
            stats = self.models[plugin]
            stats.batches += 1
            stats.items += size
            stats.batch_sizes[size] += 1
            stats.seconds_total += seconds

    def record_error(self, plugin: str) -> None:
        with self._lock:
            self.models[plugin].errors += 1

    def mark_loaded(self, plugin: str) -> None:
        with self._lock:
            self.models[plugin].loaded = True

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "hostname": self.hostname,
                "queues": self.queues,
                "device": self.device,
                "started_at": self.started_at,
                "updated_at": time.time(),
                "models": {
                    name: {**asdict(stats), "batch_sizes": dict(stats.batch_sizes)}
                    for name, stats in self.models.items()
                },
            }

    def publish(self, client: redis.Redis, ttl_s: float) -> None:
        client.set(
            WORKER_KEY_PREFIX + self.hostname, json.dumps(self.snapshot()), px=int(ttl_s * 1000)
        )

    def withdraw(self, client: redis.Redis) -> None:
        client.delete(WORKER_KEY_PREFIX + self.hostname)


def read_workers(client: redis.Redis) -> list[dict[str, Any]]:
    """The statistics of every live worker, by hostname."""
    keys = sorted(client.scan_iter(match=WORKER_KEY_PREFIX + "*", count=100))
    records = [json.loads(raw) for raw in client.mget(keys) if raw] if keys else []
    return sorted(records, key=lambda record: str(record["hostname"]))


def record_dead_letter(client: redis.Redis, letter: dict[str, Any]) -> None:
    pipe = client.pipeline()
    pipe.lpush(DEAD_LETTER_KEY, json.dumps(letter))
    pipe.ltrim(DEAD_LETTER_KEY, 0, DEAD_LETTERS_KEPT - 1)
    pipe.execute()


def read_dead_letters(client: redis.Redis, limit: int = 100) -> list[dict[str, Any]]:
    """The most recent dead letters first."""
    return [json.loads(raw) for raw in client.lrange(DEAD_LETTER_KEY, 0, limit - 1)]


def queue_depths(client: redis.Redis, queues: tuple[str, ...]) -> dict[str, int]:
    """Messages waiting in each queue (kombu keeps a Redis list per queue)."""
    pipe = client.pipeline()
    for name in queues:
        pipe.llen(name)
    return {name: int(depth) for name, depth in zip(queues, pipe.execute(), strict=True)}
