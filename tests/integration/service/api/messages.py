"""Sending messages to the API under test (shared by the API tests)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

_tokens: dict[tuple[int, str], str] = {}
"""Conversation tokens by (client, conversation id): the first message gets one back."""


def send_text(client: TestClient, text: str, conversation_id: str = "c1") -> dict[str, Any]:
    """POST one typed message to ``/v1/messages``, with the conversation's token once a first
    message made it; the body of its 200 response."""
    token = _tokens.get((id(client), conversation_id))
    response = client.post(
        "/v1/messages",
        json={"conversation_id": conversation_id, "parts": [{"type": "text", "text": text}]},
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if body.get("token"):
        _tokens[(id(client), conversation_id)] = body["token"]
    return body
