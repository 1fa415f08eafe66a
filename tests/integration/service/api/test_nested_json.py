"""JSON nested past any parser's depth is refused with a JSON error on every channel (HTTP
body, multipart field, SSE body, WebSocket frame), and the socket gets a proper close frame."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

pytestmark = pytest.mark.integration

DEPTH = 100_000
DEEP = "[" * DEPTH + "]" * DEPTH


def test_http_bodies_and_fields_refuse_deep_json(client: TestClient) -> None:
    json_headers = {"Content-Type": "application/json"}
    body = client.post("/v1/messages", content=DEEP, headers=json_headers)
    assert body.status_code == 422 and body.json()["error"]["code"] == "invalid_request"

    field = client.post("/v1/messages", data={"conversation_id": "deep", "message": DEEP})
    assert field.status_code == 422, field.text
    assert field.json()["error"]["code"] == "json_too_deep"

    sse = client.post("/v1/conversations/deep/messages", content=DEEP, headers=json_headers)
    assert sse.status_code == 400 and sse.json()["error"]["code"] == "invalid_body"


def test_websocket_answers_deep_json_with_an_error_and_a_close_frame(client: TestClient) -> None:
    with client.websocket_connect("/v1/conversations/deep-ws/ws") as socket:
        assert socket.receive_json()["event"] == "history"
        socket.send_text(DEEP)
        error = socket.receive_json()
        assert error["event"] == "error" and error["code"] == "json_too_deep"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 1007
