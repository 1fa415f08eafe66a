from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.service.api.messages import send_text

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("where is my parcel", "order_status"),
        ("my parcel arrived broken", "damaged_item"),
        ("the payment keeps failing at checkout", "payment_failed"),
        ("I'd like to speak to a real person please", "talk_to_human"),
    ],
)
def test_typed_message_gets_intent_and_reply(client: TestClient, text: str, intent: str) -> None:
    body = send_text(client, text)
    assert body["intent"] == intent
    assert not body["out_of_scope"]
    assert body["reply"] and body["conversation_id"] == "c1"
    assert len(body["ranking"]) == 5 and body["ranking"][0]["intent"] == intent
    # One part: what it gives alone is the message's intent.
    alone = {"intent": intent, "confidence": body["confidence"]}
    assert body["parts"] == [
        {"type": "text", "plugin": "text", "slots": ["text"], "details": {}, "prediction": alone}
    ]


def test_handoff_intent_says_so(client: TestClient) -> None:
    assert send_text(client, "can I talk to a human agent", "handoff-1")["handoff"] is True


def test_off_topic_message_is_out_of_scope_with_fallback(client: TestClient) -> None:
    # Its own conversation: "c1" was handed to a person above, and then the bot stays silent.
    body = send_text(client, "what's the best recipe for banana bread", "off-topic-1")
    assert body["out_of_scope"] is True
    assert "Talk to a person" in body["quick_replies"]


def test_multipart_text_field_works(client: TestClient) -> None:
    response = client.post(
        "/v1/messages", data={"conversation_id": "m1", "text": "where is my parcel"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["intent"] == "order_status"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model"]["slots"] == ["text"]


def test_openapi_documents_the_message_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/messages"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert {"413", "415", "422"} <= set(operation["responses"])


def _message(**overrides: Any) -> dict[str, Any]:
    return {"conversation_id": "bad", "parts": [{"type": "text", "text": "hi"}]} | overrides


BAD_JSON_BODIES = {
    "empty parts": (_message(parts=[]), 422, "invalid_request"),
    "no parts field": ({"conversation_id": "x"}, 422, "invalid_request"),
    "parts not a list": (_message(parts="hello"), 422, "invalid_request"),
    "conversation id wrong type": (_message(conversation_id=5), 422, "invalid_request"),
    "conversation id with spaces": (_message(conversation_id="a b"), 422, "invalid_request"),
    "text wrong type": (_message(parts=[{"type": "text", "text": ["x"]}]), 422, "invalid_request"),
    "part without type": (_message(parts=[{"text": "x"}]), 422, "invalid_request"),
    "empty text": (_message(parts=[{"type": "text", "text": "   "}]), 422, "empty_text"),
    "text field missing": (_message(parts=[{"type": "text"}]), 422, "missing_text"),
    "unknown part type": (_message(parts=[{"type": "hologram"}]), 422, "unknown_part_type"),
    "bad base64": (
        _message(parts=[{"type": "text", "text": "x", "data": "***"}]),
        422,
        "invalid_base64",
    ),
    "too many parts": (
        _message(parts=[{"type": "text", "text": "x"}] * 9),
        413,
        "too_many_parts",
    ),
    "over-long text": (
        _message(parts=[{"type": "text", "text": "word " * 1000}]),
        413,
        "text_too_long",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_JSON_BODIES))
def test_bad_input_gets_a_json_error_not_a_500(client: TestClient, case: str) -> None:
    body, status, code = BAD_JSON_BODIES[case]
    response = client.post("/v1/messages", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_unknown_part_type_names_installed_modalities(client: TestClient) -> None:
    response = client.post("/v1/messages", json=_message(parts=[{"type": "hologram"}]))
    assert "text" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 422, "invalid_request"),
        (b"[1, 2]", "application/json", 422, "invalid_request"),
        (b"", "application/json", 422, "invalid_request"),
        (b"<xml/>", "application/xml", 415, "unsupported_content_type"),
    ],
)
def test_malformed_bodies(
    client: TestClient, content: bytes, content_type: str, status: int, code: str
) -> None:
    response = client.post("/v1/messages", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_one_megabyte_of_text_is_refused_cleanly(client: TestClient) -> None:
    response = client.post(
        "/v1/messages", json=_message(parts=[{"type": "text", "text": "a" * 2**20}])
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "text_too_long"


def test_body_over_the_limit_is_refused_while_streaming(client: TestClient) -> None:
    limit = client.app.state.runtime.settings.limits.max_body_bytes  # type: ignore[attr-defined]

    def chunks():  # no Content-Length: the limit must hold on the streamed bytes
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    response = client.post(
        "/v1/messages", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_declared_oversized_body_is_refused_before_reading(client: TestClient) -> None:
    limit = client.app.state.runtime.settings.limits.max_body_bytes  # type: ignore[attr-defined]
    response = client.post(
        "/v1/messages",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": str(limit + 1)},
    )
    assert response.status_code == 413


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_base64_data_round_trips_for_text_parts(client: TestClient) -> None:
    data = base64.b64encode(b"ignored by the text plugin").decode()
    body = _message(parts=[{"type": "text", "text": "where is my parcel", "data": data}])
    assert client.post("/v1/messages", json=body).status_code == 200
