"""A caption and an attachment through ``POST /v1/messages``: the attachment is not silenced.

The two cases of issue 21, on the demo model as ``make run`` builds it (trained on its texts and
on messages with a voice note and a screenshot): a vague caption the model reads as out of scope
or a greeting, with a voice note (espeak-ng) or a screenshot (Pillow) that says what it is
about; and a question the knowledge base answers better than the intent's template.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fusiondesk.service.demo import DEMO_DOMAIN
from fusiondesk.service.replies.domain import Domain
from fusiondesk.service.synth.voice import Delivery, espeak_available, speak
from tests.images import encode, error_dialog

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DIALOG_PNG = encode(error_dialog("Error 504: payment failed"), "PNG")
PAYMENT_REPLIES = Domain.load(DEMO_DOMAIN).intents["payment_failed"].replies


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _part(body: dict[str, Any], part_type: str) -> dict[str, Any]:
    [part] = [part for part in body["parts"] if part["type"] == part_type]
    return part


@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")
def test_vague_caption_with_a_voice_note_gets_the_voice_notes_intent(client: TestClient) -> None:
    clip = speak("where is my parcel? I ordered it last week", Delivery())
    body = _ok(
        client.post(
            "/v1/messages",
            data={"conversation_id": "parts-voice", "text": "I need help"},
            files={"audio": ("note.wav", clip, "audio/wav")},
        )
    )
    assert body["intent"] == "order_status" and not body["out_of_scope"]
    assert body["answered_by"] == "template"
    # Each part says what it alone gives: the caption is not what drove the intent.
    assert _part(body, "text")["prediction"]["intent"] != "order_status"
    assert _part(body, "audio")["prediction"]["intent"] == "order_status"


def test_vague_caption_with_a_screenshot_gets_the_screenshots_intent(client: TestClient) -> None:
    caption_only = _ok(
        client.post("/v1/messages", data={"conversation_id": "parts-c", "text": "hi, see attached"})
    )
    assert caption_only["intent"] != "payment_failed"  # the caption alone says nothing of it
    body = _ok(
        client.post(
            "/v1/messages",
            data={"conversation_id": "parts-image", "text": "hi, see attached"},
            files={"image": ("screenshot.png", DIALOG_PNG, "image/png")},
        )
    )
    assert body["intent"] == "payment_failed" and not body["out_of_scope"]
    assert body["reply"] in PAYMENT_REPLIES
    assert _part(body, "text")["prediction"]["intent"] == caption_only["intent"]
    assert _part(body, "image")["prediction"]["intent"] == "payment_failed"


def test_a_question_the_knowledge_base_answers_better_is_answered_from_it(
    client: TestClient,
) -> None:
    body = _ok(
        client.post(
            "/v1/messages",
            json={
                "conversation_id": "parts-kb",
                "parts": [{"type": "text", "text": "do you take PayPal?"}],
            },
        )
    )
    assert body["answered_by"] == "knowledge" and "PayPal" in body["reply"]
    [source] = body["sources"]
    assert source["title"] == "Which payment methods do you accept?"
    assert source["file"].endswith("payments.md")
    # An intent request still gets its template.
    request = _ok(
        client.post(
            "/v1/messages",
            data={"conversation_id": "parts-kb2", "text": "my card was declined at checkout"},
        )
    )
    assert request["intent"] == "payment_failed" and request["answered_by"] == "template"
