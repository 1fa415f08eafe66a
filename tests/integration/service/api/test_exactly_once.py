"""A message id seen before is answered with its stored answer, never as a second turn: over
HTTP (concurrent duplicates too), the WebSocket and server-sent events."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

TEXT_PARTS = [{"type": "text", "text": "where is my parcel"}]


def _new_conversation(client: TestClient) -> tuple[str, dict[str, str]]:
    """A server-made conversation and the header that carries its token: how a client that may
    retry its very first message starts (a retry needs the token, which only the first answer
    of a client-chosen id would carry)."""
    created = client.post("/v1/conversations")
    assert created.status_code == 201, created.text
    body = created.json()
    return body["conversation_id"], {"Authorization": f"Bearer {body['token']}"}


def _customer_turns(
    client: TestClient, conversation_id: str, auth: dict[str, str]
) -> list[dict[str, Any]]:
    response = client.get(f"/v1/conversations/{conversation_id}", headers=auth)
    assert response.status_code == 200, response.text
    return [turn for turn in response.json()["turns"] if turn["role"] == "customer"]


def _sse_reply(
    client: TestClient, conversation_id: str, auth: dict[str, str], message_id: str
) -> dict[str, Any]:
    response = client.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"type": "message", "message_id": message_id, "parts": TEXT_PARTS},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    events = [
        json.loads(block.split("data: ", 1)[1])
        for block in response.text.split("\n\n")
        if block.strip()
    ]
    assert events[0] == {"event": "received", "message_id": message_id}
    reply: dict[str, Any] = events[-1]
    assert reply["event"] == "reply", events
    return reply


def test_http_duplicates_concurrent_and_late_make_one_turn(client: TestClient) -> None:
    conversation_id, auth = _new_conversation(client)
    body = {"conversation_id": conversation_id, "message_id": "dup-1", "parts": TEXT_PARTS}
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: client.post("/v1/messages", json=body, headers=auth), range(4))
        )
    late = client.post("/v1/messages", json=body, headers=auth)
    for answer in [*answers, late]:
        assert answer.status_code == 200, answer.text
    first = answers[0].json()
    for answer in [*answers[1:], late]:
        again = answer.json()
        assert (again["message_id"], again["reply"], again["intent"]) == (
            "dup-1", first["reply"], "order_status",
        )  # fmt: skip
    assert [
        (t["message_id"], t["sequence"]) for t in _customer_turns(client, conversation_id, auth)
    ] == [("dup-1", 1)]
    # A new id is a new turn.
    other = client.post("/v1/messages", json={**body, "message_id": "dup-2"}, headers=auth)
    assert other.status_code == 200
    assert len(_customer_turns(client, conversation_id, auth)) == 2


def test_websocket_retry_with_the_same_id_gets_the_stored_reply(client: TestClient) -> None:
    conversation_id, auth = _new_conversation(client)
    token = auth["Authorization"].removeprefix("Bearer ")
    frame = {"type": "message", "message_id": "ws-dup", "parts": TEXT_PARTS}
    replies = []
    for _ in range(2):  # the second connection stands for a widget retrying after a reconnect
        with client.websocket_connect(
            f"/v1/conversations/{conversation_id}/ws?token={token}"
        ) as socket:
            assert socket.receive_json()["event"] == "history"
            socket.send_json(frame)
            while (event := socket.receive_json())["event"] not in ("reply", "error"):
                pass
            replies.append(event)
    assert replies[0]["event"] == "reply" and replies[1] == replies[0]
    assert [t["message_id"] for t in _customer_turns(client, conversation_id, auth)] == ["ws-dup"]


def test_sse_retry_with_the_same_id_gets_the_stored_reply(client: TestClient) -> None:
    conversation_id, auth = _new_conversation(client)
    first = _sse_reply(client, conversation_id, auth, "sse-dup")
    assert _sse_reply(client, conversation_id, auth, "sse-dup") == first
    assert [t["message_id"] for t in _customer_turns(client, conversation_id, auth)] == ["sse-dup"]
