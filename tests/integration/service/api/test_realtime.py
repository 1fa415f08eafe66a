"""The chat widget's channels: a WebSocket conversation with text, voice and image, a
reconnect that resumes it, and the server-sent-events fallback."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from fusiondesk.service.api import create_app
from fusiondesk.service.conversations.store import InMemoryConversationStore
from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import InlineExecutor
from fusiondesk.service.understanding.wiring import build_registry
from tests.integration.media_fakes import (
    FakeImagePlugin,
    FakeVoicePlugin,
    fake_photo,
    fake_recording,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chat(settings: Settings, demo_model_dir: Path) -> Iterator[TestClient]:
    """The real app and demo model, with voice and image plugins beside the real text one."""
    # The fakes stand in for the real voice and image plugins (the widget's browser tests
    # drive those through this same WebSocket): instant, and their details are known.
    served = settings.model_copy(
        update={"model_dir": demo_model_dir, "disabled_plugins": ["voice", "image"]}
    )
    registry = build_registry(served)
    registry.register(FakeVoicePlugin())
    registry.register(FakeImagePlugin())
    runtime = Runtime(served, registry, InlineExecutor(registry), InMemoryConversationStore())
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.1)
        yield client


def _new_conversation(client: TestClient) -> tuple[str, str]:
    response = client.post("/v1/conversations")
    assert response.status_code == 201, response.text
    body = response.json()
    return body["conversation_id"], body["token"]


def _events_until_reply(socket: Any) -> list[dict[str, Any]]:
    events = []
    while True:
        event = socket.receive_json()
        events.append(event)
        if event["event"] in ("reply", "error") and not event.get("chunk"):
            if event["event"] == "reply" and event["handoff"]:
                events.append(socket.receive_json())  # the handoff event follows
            return events


def test_websocket_holds_a_conversation_and_resumes_it(chat: TestClient) -> None:
    conversation_id, token = _new_conversation(chat)
    url = f"/v1/conversations/{conversation_id}/ws?token={token}"
    with chat.websocket_connect(url) as socket:
        assert socket.receive_json() == {"event": "history", "turns": []}

        socket.send_json(
            {
                "type": "message",
                "message_id": "t1",
                "parts": [{"type": "text", "text": "where is my parcel"}],
            }
        )
        events = _events_until_reply(socket)
        assert [e["event"] for e in events] == ["received", "typing", "reply"]
        reply = events[-1]
        assert reply["message_id"] == "t1" and reply["intent"] == "order_status"
        assert reply["text"] and reply["chunk"] is False and reply["handoff"] is False

        audio = base64.b64encode(fake_recording("I want my money back for this order")).decode()
        socket.send_json(
            {
                "type": "message",
                "message_id": "v1",
                "parts": [{"type": "audio", "data": audio, "media_type": "audio/wav"}],
            }
        )
        events = _events_until_reply(socket)
        assert [e["event"] for e in events] == ["received", "transcript", "typing", "reply"]
        assert events[1] == {
            "event": "transcript",
            "message_id": "v1",
            "text": "I want my money back for this order",
            "language": "en",
        }
        assert events[-1]["intent"] == "refund_request"

        # An image as a binary frame, announced first.
        socket.send_json(
            {
                "type": "attachment",
                "message_id": "i1",
                "part_type": "image",
                "media_type": "image/png",
            }
        )
        socket.send_bytes(fake_photo("the item arrived smashed and broken"))
        events = _events_until_reply(socket)
        assert [e["event"] for e in events] == ["received", "typing", "reply"]
        assert events[-1]["message_id"] == "i1" and events[-1]["intent"] == "damaged_item"

        socket.send_json({"type": "ping"})
        assert socket.receive_json() == {"event": "pong"}

    with chat.websocket_connect(url) as socket:
        history = socket.receive_json()
    assert history["event"] == "history"
    turns = history["turns"]
    assert [(t["message_id"], t["role"]) for t in turns] == [
        ("t1", "customer"), ("t1", "bot"), ("v1", "customer"), ("v1", "bot"),
        ("i1", "customer"), ("i1", "bot"),
    ]  # fmt: skip
    assert turns[0]["text"] == "where is my parcel" and turns[1]["text"] == reply["text"]
    assert turns[2]["transcript"] == "I want my money back for this order"
    assert turns[2]["language"] == "en"
    assert turns[4]["ocr"] == "the item arrived smashed and broken"
    assert [t["sequence"] for t in turns[::2]] == [1, 2, 3]
    assert set(turns[0]["timings_ms"]) == {"preprocess", "encode", "classify"}

    # The REST view shows the same history.
    rest = chat.get(
        f"/v1/conversations/{conversation_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert rest.status_code == 200 and rest.json()["turns"] == turns
    assert rest.json()["handoff"] is False


def test_unannounced_binary_frame_is_recognised_by_its_bytes(chat: TestClient) -> None:
    conversation_id, token = _new_conversation(chat)
    with chat.websocket_connect(f"/v1/conversations/{conversation_id}/ws?token={token}") as ws:
        ws.receive_json()
        ws.send_bytes(fake_recording("where is my parcel"))
        events = _events_until_reply(ws)
        assert events[1]["event"] == "transcript" and events[-1]["intent"] == "order_status"
        ws.send_bytes(b"\x00\x01 not a known format")
        error = ws.receive_json()
        assert error["event"] == "error" and error["code"] == "unsupported_media"


def test_handoff_and_bad_frames_become_events(chat: TestClient) -> None:
    conversation_id, token = _new_conversation(chat)
    with chat.websocket_connect(f"/v1/conversations/{conversation_id}/ws?token={token}") as ws:
        ws.receive_json()
        ws.send_json(
            {"type": "message", "message_id": "h1",
             "parts": [{"type": "text", "text": "let me talk to a human agent"}]}
        )  # fmt: skip
        events = _events_until_reply(ws)
        assert events[-2]["handoff"] is True
        assert events[-1] == {"event": "handoff", "message_id": "h1"}

        ws.send_text("{not json")
        assert ws.receive_json()["code"] == "invalid_request"
        ws.send_json({"type": "message", "message_id": "e1", "parts": []})
        error = ws.receive_json()
        assert error["event"] == "error" and error["message_id"] == "e1"
        ws.send_json({"type": "message", "message_id": "e2", "parts": [{"type": "hologram"}]})
        events = _events_until_reply(ws)
        assert events[-1]["code"] == "unknown_part_type" and events[-1]["message_id"] == "e2"
    body = chat.get(
        f"/v1/conversations/{conversation_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["handoff"] is True and len(body["turns"]) == 2


def test_wrong_or_missing_token_is_refused_as_not_found(chat: TestClient) -> None:
    conversation_id, _ = _new_conversation(chat)
    for query in ("", "?token=not-the-token"):
        with pytest.raises(WebSocketDenialResponse) as refused:
            with chat.websocket_connect(f"/v1/conversations/{conversation_id}/ws{query}"):
                pass
        assert refused.value.status_code == 404
        assert refused.value.json()["error"]["code"] == "not_found"


def test_websocket_from_another_site_is_refused(chat: TestClient) -> None:
    conversation_id, token = _new_conversation(chat)
    url = f"/v1/conversations/{conversation_id}/ws?token={token}"
    with pytest.raises(WebSocketDenialResponse) as refused:
        with chat.websocket_connect(url, headers={"origin": "https://evil.example"}):
            pass
    assert refused.value.status_code == 403
    with chat.websocket_connect(url, headers={"origin": "http://testserver"}) as socket:
        assert socket.receive_json()["event"] == "history"  # same origin is fine


def test_server_sent_events_carry_the_same_events(chat: TestClient) -> None:
    conversation_id, token = _new_conversation(chat)
    audio = base64.b64encode(fake_recording("my card payment keeps failing")).decode()
    response = chat.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"type": "message", "message_id": "s1",
              "parts": [{"type": "audio", "data": audio, "media_type": "audio/wav"}]},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in response.text.split("\n\n") if b.strip()]
    events = []
    for block in blocks:
        name_line, data_line = block.split("\n")
        event = json.loads(data_line.removeprefix("data: "))
        assert name_line == f"event: {event['event']}"
        events.append(event)
    assert [e["event"] for e in events] == ["received", "transcript", "typing", "reply"]
    assert events[-1]["intent"] == "payment_failed" and events[-1]["message_id"] == "s1"

    refused = chat.post(
        f"/v1/conversations/{conversation_id}/messages",
        json={"parts": [{"type": "text", "text": "hi"}]},
    )
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
