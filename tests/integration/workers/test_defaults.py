"""Worker faults under the shipped default settings: only the ports and paths differ.

test_workers.py runs the same faults with tuned settings (a 4 s visibility timeout); here the
workers and the API keep every default (an hour's visibility timeout, 2 s heartbeats, a 25 s
shutdown grace), so what the docs promise for a default install is what is proven. A Redis and
two workers of their own start once for the module.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from fusiondesk.plugins import Part, PluginRegistry
from fusiondesk.service.api import create_app
from fusiondesk.service.settings import Settings
from fusiondesk.service.synth.voice import espeak_available, speak
from fusiondesk.workers.app import RESULT_KEY_PREFIX
from fusiondesk.workers.client import CeleryClient
from fusiondesk.workers.inflight import OWNERS_KEY, inflight_key
from fusiondesk.workers.local import LocalRedis, LocalWorkers, worker_environment

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REDELIVERY_BOUND_S = 15.0
"""docs/scaling.md: a dead worker's messages are back in the queue within this (defaults)."""
PHRASES = ["where is my parcel", "my card was stolen", "how do I reset my password"]


@dataclass
class DefaultCluster:
    redis: LocalRedis
    workers: LocalWorkers
    settings: Settings
    broker: redis.Redis


@pytest.fixture(scope="module")
def cluster(
    settings: Settings, demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DefaultCluster]:
    server = LocalRedis(tmp_path_factory.mktemp("redis-defaults"))
    server.start()
    defaults = settings.model_validate(
        {
            **settings.model_dump(),
            "model_dir": demo_model_dir,
            "executor": "celery",
            "celery": {"broker_url": server.url},
        }
    )
    env = {
        **worker_environment(server.url),
        "FUSIONDESK_HOME": str(defaults.home),
        "FUSIONDESK_MODEL_DIR": str(demo_model_dir),
    }
    workers = LocalWorkers(env, tmp_path_factory.mktemp("worker-logs"), defaults.celery.concurrency)
    broker = redis.Redis.from_url(server.url)
    try:
        for name in ("d1@defaults", "d2@defaults"):
            workers.start(name)
        workers.wait_ready(["d1@defaults", "d2@defaults"])
        yield DefaultCluster(server, workers, defaults, broker)
    finally:
        broker.close()
        workers.stop_all()
        server.stop()


@pytest.fixture(scope="module")
def api(cluster: DefaultCluster) -> Iterator[TestClient]:
    with TestClient(create_app(cluster.settings), raise_server_exceptions=False) as client:
        _wait_ready(client)
        yield client


def _wait_ready(client: TestClient) -> None:
    deadline = time.monotonic() + 120
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/readyz").json()
        time.sleep(0.1)


def _parts(count: int) -> list[dict[str, Any]]:
    """Voice clips (seconds of encoding each, so a worker holds them a while) and texts."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed (scripts/install-system-packages.sh)")
    voice = [
        {"type": "audio", "data": base64.b64encode(speak(p)).decode(), "media_type": "audio/wav"}
        for p in PHRASES
    ]
    texts = [{"type": "text", "text": p} for p in PHRASES]
    return [(voice if i % 2 else texts)[i % len(PHRASES)] for i in range(count)]


def _owner(broker: redis.Redis, hostname: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        owners = [m.decode() for m in broker.smembers(OWNERS_KEY)]
        found = [owner for owner in owners if owner.startswith(hostname + "/")]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"{hostname} never beat: {owners}"
        time.sleep(0.05)


def _first_to_hold(broker: redis.Redis, owners: dict[str, str], futures: list[Future[Any]]) -> str:
    """The worker that holds a message first: either may take the load, since the API groups
    parts into tasks and one task may carry them all."""
    deadline = time.monotonic() + 60
    while True:
        holding = [name for name, owner in owners.items() if broker.scard(inflight_key(owner))]
        if holding:
            return holding[0]
        assert not all(f.done() for f in futures), "the load ended before a worker held any"
        assert time.monotonic() < deadline, f"no worker ever held a message: {owners}"
        time.sleep(0.02)


def _send_all(api: TestClient, run: str, parts: list[dict[str, Any]]) -> list[Future[Any]]:
    pool = ThreadPoolExecutor(len(parts))
    futures = [
        pool.submit(
            api.post,
            "/v1/messages",
            json={"conversation_id": f"{run}-{i}", "message_id": f"{run}-m{i}", "parts": [part]},
        )
        for i, part in enumerate(parts)
    ]
    pool.shutdown(wait=False)
    return futures


def _stored_once(api: TestClient, run: str, count: int) -> None:
    runtime = api.app.state.runtime  # type: ignore[attr-defined]
    for i in range(count):
        turns = api.portal.call(runtime.store.turns, f"{run}-{i}")  # type: ignore[union-attr]
        assert [turn.message_id for turn in turns] == [f"{run}-m{i}"]


def test_a_killed_workers_messages_are_redelivered_within_the_bound(
    cluster: DefaultCluster, api: TestClient
) -> None:
    run = f"kill-{uuid.uuid4().hex[:6]}"
    parts = _parts(12)
    owners = {name: _owner(cluster.broker, name) for name in cluster.workers.processes}
    futures = _send_all(api, run, parts)
    name = _first_to_hold(cluster.broker, owners, futures)
    victim = owners[name]
    # At once: on a quiet machine a worker is through its batch in a fraction of a second.
    cluster.workers.kill(name)
    killed = time.monotonic()
    # What the dead worker left in flight (nobody else removes it before the sweeper).
    assert cluster.broker.scard(inflight_key(victim)), "the victim finished before the kill"
    while cluster.broker.scard(inflight_key(victim)):
        assert time.monotonic() - killed < REDELIVERY_BOUND_S, "not redelivered within the bound"
        time.sleep(0.05)
    # Generous: the survivor re-encodes the victim's voice clips, slowly on a starved machine.
    responses = [future.result(timeout=300) for future in futures]
    assert [r.status_code for r in responses] == [200] * len(parts), [
        r.text for r in responses if r.status_code != 200
    ][:3]
    _stored_once(api, run, len(parts))


def test_without_a_live_worker_a_message_is_refused_at_once(
    cluster: DefaultCluster, api: TestClient
) -> None:
    # The same Redis, another database: a queue no worker consumes.
    lonely = cluster.settings.model_copy(
        update={
            "celery": cluster.settings.celery.model_copy(
                update={"broker_url": cluster.redis.url.rsplit("/", 1)[0] + "/3"}
            )
        }
    )
    with TestClient(create_app(lonely), raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 30
        while _unserved_queues(client) != ["gpu"]:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.1)
        assert client.get("/readyz").status_code == 503
        started = time.monotonic()
        response = client.post(
            "/v1/messages",
            json={"conversation_id": "nobody", "parts": [{"type": "text", "text": "hi"}]},
        )
        assert time.monotonic() - started < 2.0
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "no_workers"
        assert response.headers["retry-after"]
        conversation = client.post("/v1/conversations").json()
        url = (
            f"/v1/conversations/{conversation['conversation_id']}/ws?token={conversation['token']}"
        )
        with client.websocket_connect(url) as socket:
            assert socket.receive_json()["event"] == "history"
            socket.send_json(
                {"type": "message", "message_id": "w1", "parts": [{"type": "text", "text": "hi"}]}
            )
            assert socket.receive_json() == {"event": "received", "message_id": "w1"}
            error = socket.receive_json()
            assert (error["event"], error["code"], error["message_id"]) == (
                "error",
                "no_workers",
                "w1",
            )


def _unserved_queues(client: TestClient) -> list[str]:
    """What ``/readyz`` says of queues without a worker (its 503 carries the executor's state)."""
    error = client.get("/readyz").json().get("error", {})
    if error.get("code") != "executor_not_ready":
        return []  # still loading the model, or ready
    queues: list[str] = json.loads(error["message"])["unserved_queues"]
    return queues


def test_sigterm_finishes_or_returns_the_workers_messages_within_the_grace(
    cluster: DefaultCluster, registry: PluginRegistry
) -> None:
    """The last worker holds every message (published straight to the queue, so that none
    arrives after the signal with nobody left to take it). On SIGTERM it finishes them, or,
    when the grace period ends first (a starved machine), puts the rest back in the queue."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed (scripts/install-system-packages.sh)")
    *others, last = sorted(cluster.workers.processes)  # one, after the kill test
    for name in others:
        cluster.workers.stop(name)
    leaving = _owner(cluster.broker, last)

    async def scenario() -> tuple[float, int, list[str]]:
        client = CeleryClient(cluster.settings, registry)
        try:
            handle = await client.submit_parts(
                [Part("audio", data=speak(p), media_type="audio/wav") for p in PHRASES]
                + [Part("text", text=p) for p in PHRASES]
            )
            deadline = time.monotonic() + 60
            while cluster.broker.llen("gpu") or not cluster.broker.scard(inflight_key(leaving)):
                assert time.monotonic() < deadline, "the worker never took the messages"
                await asyncio.sleep(0.02)
            process = cluster.workers.processes.pop(last)
            process.terminate()
            started = time.monotonic()
            code = await asyncio.to_thread(process.wait, cluster.settings.shutdown_grace_s + 10)
            return time.monotonic() - started, code, list(handle.task_ids)
        finally:
            await client.close()

    took, code, task_ids = asyncio.run(scenario())
    assert took <= cluster.settings.shutdown_grace_s + 2, f"exited after {took:.1f}s"
    queued = {json.loads(raw)["headers"]["id"] for raw in cluster.broker.lrange("gpu", 0, -1)}
    answered = {t for t in task_ids if cluster.broker.exists(RESULT_KEY_PREFIX + t)}
    assert answered | queued == set(task_ids), "a message was neither finished nor returned"
    # Exit 0: all finished; 1: the grace ran out and the rest went back to the queue.
    assert code in (0, 1) and (code == 1 or not queued), cluster.workers.log(last)
    assert not cluster.broker.exists(inflight_key(leaving))
