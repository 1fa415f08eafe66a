"""The API with the Redis store under the shipped defaults (only ports and paths changed), as an
operator runs it through Redis outages and a deploy:

* Redis stopped, restarted and paused: 503 store_unavailable + Retry-After while it is away,
  never a 500, and the first burst after it is back all answered (dead pooled connections).
* SIGTERM with messages in flight: exit within the grace period + 2 s, the stuck HTTP messages
  answered 503 shutting_down, and a WebSocket message acknowledged with ``received`` answered
  by the next process into the history; HTTP retries with the same id make one turn.

One API process rides out the faults and is then stopped, so the module starts two, not three.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from websockets.sync.client import connect

from fusiondesk.service.settings import Settings
from fusiondesk.workers.local import LocalRedis
from tests.integration.redis_fixtures import REDIS_SERVER
from tests.integration.servers import ApiProcess, running_api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GRACE_S = Settings.model_fields["shutdown_grace_s"].default
TEXT_PARTS = [{"type": "text", "text": "where is my parcel"}]
HANDOFF_PARTS = [{"type": "text", "text": "I want to talk to a human agent"}]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    """A redis-server of this test's own: it is stopped and paused here."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (scripts/install-system-packages.sh)")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = LocalRedis(directory)
    server.start()
    yield server
    if server.process is not None:
        server.process.send_signal(signal.SIGCONT)
    server.stop()


def test_faults_and_a_stop_lose_nothing_and_give_no_500(
    own_redis: LocalRedis, demo_model_dir: Path, tmp_path: Path
) -> None:
    env = {"FUSIONDESK_STORE": "redis", "FUSIONDESK_REDIS_URL": own_redis.url}
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    with running_api(demo_model_dir, logs[0], **env) as api:
        _ride_out_redis_faults(api, own_redis)
        conversations = {channel: _new_conversation(api.url) for channel in ("http", "ws")}
        _stop_with_messages_in_flight(api, own_redis.url, conversations)
    with running_api(demo_model_dir, logs[1], **env) as api:
        _answer_what_the_first_process_left(api, conversations)
    for log in logs:
        assert "internal_error" not in log.read_text() and "Traceback" not in log.read_text()


def _ride_out_redis_faults(api: ApiProcess, server: LocalRedis) -> None:
    assert _burst(api.url, "warm", 10) == [200] * 10  # pooled connections, to be killed
    # A handoff publishes to the agents' feed: the event bus's connection dies with Redis too.
    assert _send(api.url, "handoff-warm", parts=HANDOFF_PARTS).status_code == 200

    server.stop()
    _assert_503(httpx.get(f"{api.url}/readyz", timeout=30), "store_unavailable")
    _assert_503(_send(api.url, "down"), "store_unavailable")
    server.start()
    assert _burst(api.url, "back", 40) == [200] * 40  # none failed on a dead connection
    assert _send(api.url, "handoff-back", parts=HANDOFF_PARTS).status_code == 200
    assert httpx.get(f"{api.url}/readyz", timeout=30).status_code == 200

    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        _assert_503(_send(api.url, "paused"), "store_unavailable")
        assert time.monotonic() - started < 15  # the command timeout, retried once
        _assert_503(httpx.get(f"{api.url}/readyz", timeout=30), "store_unavailable")
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    assert _burst(api.url, "resumed", 10) == [200] * 10


def _stop_with_messages_in_flight(
    api: ApiProcess, redis_url: str, conversations: dict[str, tuple[str, str]]
) -> None:
    # Another holder keeps the conversations locked: their messages stay in flight (as behind
    # a dead worker) past the grace period.
    locks = redis.Redis.from_url(redis_url)
    for conversation_id, _ in conversations.values():
        locks.set(f"fd:conv:{conversation_id}:lock", "another-process", px=120_000)
    answers: list[httpx.Response] = []

    def send(message_id: str) -> None:
        answers.append(_send(api.url, *conversations["http"], message_id, timeout=120))

    senders = [threading.Thread(target=send, args=(f"h{n}",)) for n in range(2)]
    for sender in senders:
        sender.start()
    ws_id, ws_token = conversations["ws"]
    ws_url = f"{api.url.replace('http', 'ws', 1)}/v1/conversations/{ws_id}/ws?token={ws_token}"
    with connect(ws_url) as socket:
        assert json.loads(socket.recv(timeout=30))["event"] == "history"
        socket.send(json.dumps({"type": "message", "message_id": "w1", "parts": TEXT_PARTS}))
        assert json.loads(socket.recv(timeout=30)) == {"event": "received", "message_id": "w1"}
    time.sleep(1)

    started = time.monotonic()
    api.process.send_signal(signal.SIGTERM)
    api.process.wait(timeout=GRACE_S + 30)
    took = time.monotonic() - started
    for sender in senders:
        sender.join(timeout=10)
    assert took <= GRACE_S + 2, f"exit took {took:.1f} s"
    assert len(answers) == 2
    for answer in answers:
        _assert_503(answer, "shutting_down")
    locks.delete(*(f"fd:conv:{id_}:lock" for id_, _ in conversations.values()))
    locks.close()


def _answer_what_the_first_process_left(
    api: ApiProcess, conversations: dict[str, tuple[str, str]]
) -> None:
    # The acknowledged message is answered into the history; the next connection shows it.
    deadline = time.monotonic() + 60
    while not (turns := _turns(api.url, *conversations["ws"])):
        assert time.monotonic() < deadline, "the accepted message was not resumed"
        time.sleep(0.5)
    assert [(t["message_id"], t["role"]) for t in turns] == [("w1", "customer"), ("w1", "bot")]
    assert turns[0]["intent"] == "order_status"
    # The HTTP client retries with its message id: answered, once.
    for _ in range(2):
        assert _send(api.url, *conversations["http"], "h0").status_code == 200
    customer_turns = [t for t in _turns(api.url, *conversations["http"]) if t["role"] == "customer"]
    assert [t["message_id"] for t in customer_turns] == ["h0"]


def _new_conversation(url: str) -> tuple[str, str]:
    """A server-made conversation's id and token: its messages may then be retried from the
    first one on (a client-chosen id's token comes only with its first answer)."""
    created = httpx.post(f"{url}/v1/conversations", timeout=30)
    assert created.status_code == 201, created.text
    return created.json()["conversation_id"], created.json()["token"]


def _send(
    url: str,
    conversation_id: str,
    token: str | None = None,
    message_id: str | None = None,
    *,
    parts: list[dict[str, str]] = TEXT_PARTS,
    timeout: float = 60,
) -> httpx.Response:
    body = {"conversation_id": conversation_id, "message_id": message_id, "parts": parts}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}/v1/messages", json=body, headers=headers, timeout=timeout)


def _burst(url: str, name: str, size: int) -> list[int]:
    with ThreadPoolExecutor(size) as pool:
        return [r.status_code for r in pool.map(lambda n: _send(url, f"{name}-{n}"), range(size))]


def _turns(url: str, conversation_id: str, token: str) -> list[dict[str, object]]:
    turns: list[dict[str, object]] = httpx.get(
        f"{url}/v1/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()["turns"]
    return turns


def _assert_503(response: httpx.Response, code: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == code
    assert int(response.headers["Retry-After"]) >= 1
