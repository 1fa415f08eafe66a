"""Sending messages to the API under test (shared by the API tests)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

_tokens: dict[tuple[int, str], str] = {}
"""Conversation tokens by (client, conversation id): the first message gets one back."""


def token_headers(client: TestClient, conversation_id: str) -> dict[str, str]:
    """The header that shows a conversation's token, once a first message made it."""
    token = _tokens.get((id(client), conversation_id))
    return {"Authorization": f"Bearer {token}"} if token else {}


def send_parts(
    client: TestClient, parts: list[dict[str, Any]], conversation_id: str = "c1"
) -> dict[str, Any]:
    """POST one message to ``/v1/messages``, with the conversation's token once a first
    message made it; the body of its 200 response."""
    response = client.post(
        "/v1/messages",
        json={"conversation_id": conversation_id, "parts": parts},
        headers=token_headers(client, conversation_id),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if body.get("token"):
        _tokens[(id(client), conversation_id)] = body["token"]
    return body


def send_text(client: TestClient, text: str, conversation_id: str = "c1") -> dict[str, Any]:
    """``send_parts`` of one typed text."""
    return send_parts(client, [{"type": "text", "text": text}], conversation_id)
