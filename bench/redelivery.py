"""Kill -9 to redelivery: how long a dead worker's in-flight messages wait, default settings.

A real Redis, a worker that stays up and a victim worker, both with the shipped defaults (only
the broker's port changes). Each round queues voice, screenshot and text messages, waits until
the victim holds some of them, ``kill -9``s it mid-batch and times two things: until its
messages are back in the queue (the sweep of ``fusiondesk.workers.inflight``), and until every
one of them has its result (re-encoded by the surviving worker). Then the victim is started
again under a new name for the next round.

    python bench/redelivery.py [--kills 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import redis
from _media import make_samples
from loadgen import demo_settings

from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.wiring import build_registry
from fusiondesk.workers.app import RESULT_KEY_PREFIX
from fusiondesk.workers.client import CeleryClient
from fusiondesk.workers.inflight import OWNERS_KEY, inflight_key
from fusiondesk.workers.local import LocalRedis, LocalWorkers, worker_environment

UNACKED_KEY = "unacked"
"""kombu's hash of delivered, unacknowledged messages (its default ``unacked_key``)."""
POLL_S = 0.02


def owner_of(client: redis.Redis, hostname: str) -> str | None:
    for member in client.smembers(OWNERS_KEY):
        owner = member.decode()
        if owner.startswith(hostname + "/"):
            return owner
    return None


def held_task_ids(client: redis.Redis, owner: str) -> list[str]:
    """The task ids of the messages ``owner`` holds (from kombu's own unacknowledged copies)."""
    ids = []
    for tag in client.smembers(inflight_key(owner)):
        raw = client.hget(UNACKED_KEY, tag)
        if raw is not None:
            ids.append(json.loads(raw)[0]["headers"]["id"])
    return ids


def wait_for(condition: object, timeout_s: float, what: str) -> float:
    """Seconds until ``condition()`` holds; raises after ``timeout_s``."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f}s")
        time.sleep(POLL_S)
    return time.monotonic() - started


async def one_round(
    settings: Settings, workers: LocalWorkers, client: redis.Redis, victim: str, timeout_s: float
) -> tuple[int, float, float]:
    """(messages the victim held, seconds until back in the queue, seconds until answered)."""
    celery = CeleryClient(settings, build_registry(settings))
    samples = make_samples(8)
    try:
        for kind in samples.values():
            for sample in kind:
                await celery.submit_parts([sample.part])
        wait_for(lambda: owner_of(client, victim), 60, "victim registered")
        owner = owner_of(client, victim)
        assert owner is not None
        wait_for(lambda: client.scard(inflight_key(owner)) > 0, 60, "victim holds messages")
        await asyncio.sleep(0.3)  # mid-batch
        held = held_task_ids(client, owner)
        workers.kill(victim)
        killed = time.monotonic()
        returned = wait_for(
            lambda: client.scard(inflight_key(owner)) == 0, timeout_s, "messages returned"
        )
        wait_for(
            lambda: all(client.exists(RESULT_KEY_PREFIX + task_id) for task_id in held),
            timeout_s,
            "messages answered",
        )
        return len(held), returned, time.monotonic() - killed
    finally:
        await celery.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=120.0, help="per round, seconds")
    args = parser.parse_args()
    base = demo_settings()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fusiondesk-redelivery-") as directory:
        server = LocalRedis(Path(directory))
        server.start()
        settings = base.model_copy(
            update={
                "executor": "celery",
                "celery": base.celery.model_copy(update={"broker_url": server.url}),
            }
        )
        workers = LocalWorkers(
            worker_environment(server.url), Path(directory), base.celery.concurrency
        )
        try:
            workers.start("survivor@bench")
            with redis.Redis.from_url(server.url) as client:
                for round_number in range(args.kills):
                    victim = f"victim-{round_number}@bench"
                    workers.start(victim)
                    workers.wait_ready(["survivor@bench", victim])
                    rows.append(
                        asyncio.run(one_round(settings, workers, client, victim, args.timeout))
                    )
                    held, returned, answered = rows[-1]
                    print(
                        f"kill {round_number + 1}: held {held}, back in queue {returned:.1f}s, "
                        f"answered {answered:.1f}s",
                        flush=True,
                    )
        finally:
            workers.stop_all()
            server.stop()
    heartbeat = base.celery.heartbeat_s
    print()
    print(
        f"fusiondesk bench/redelivery.py — {os.cpu_count()} CPU cores, default settings "
        f"(heartbeat_s {heartbeat:g}, visibility_timeout_s {base.celery.visibility_timeout_s:g})"
    )
    print(f"{'kills':>5} {'held':>5} {'':>22} {'min s':>7} {'median s':>9} {'max s':>7}")
    for label, column in (("kill -9 -> back in queue", 1), ("kill -9 -> all answered", 2)):
        values = [row[column] for row in rows]
        print(
            f"{len(rows):>5} {sum(row[0] for row in rows):>5} {label:>22} {min(values):>7.1f} "
            f"{statistics.median(values):>9.1f} {max(values):>7.1f}"
        )


if __name__ == "__main__":
    main()
