"""Sending messages to the API under test (shared by the API tests)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def send_text(client: TestClient, text: str, conversation_id: str = "c1") -> dict[str, Any]:
    """POST one typed message to ``/v1/messages``; the body of its 200 response."""
    response = client.post(
        "/v1/messages",
        json={"conversation_id": conversation_id, "parts": [{"type": "text", "text": text}]},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
