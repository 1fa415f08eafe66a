"""The agents' desk over the real app and demo model (memory store): the queue, claim and its
409, replies and notes in the history, the bot's silence while a person has the conversation,
hand back, live events both ways, metrics and the inbox page."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from fusiondesk.service.api import create_app
from fusiondesk.service.api.security import sha256_hex
from fusiondesk.service.settings import ApiKey, Auth, Settings
from tests.images import encode, parcel_photo
from tests.integration.service.api.messages import send_parts, send_text, token_headers

pytestmark = pytest.mark.integration

ASK_FOR_PERSON = "Can I speak to a real person please?"


def _say(client: TestClient, conversation_id: str, text: str) -> dict[str, Any]:
    return send_text(client, text, conversation_id)


def _as(agent: str) -> dict[str, str]:
    return {"X-Agent-Name": agent}


def _handed_off(client: TestClient) -> str:
    conversation_id = "h-" + secrets.token_hex(6)
    first = _say(client, conversation_id, ASK_FOR_PERSON)
    assert first["handoff"] and first["intent"] == "talk_to_human"
    return conversation_id


def _post(client: TestClient, conversation_id: str, action: str, agent: str, **body: Any) -> Any:
    return client.post(
        f"/v1/agent/conversations/{conversation_id}/{action}",
        headers=_as(agent),
        json=body or None,
    )


def test_a_handoff_joins_the_queue_and_the_bot_acknowledges_once(client: TestClient) -> None:
    conversation_id = _handed_off(client)
    queue = client.get("/v1/agent/queue").json()["conversations"]
    entry = next(e for e in queue if e["conversation_id"] == conversation_id)
    assert entry["state"] == "waiting"
    assert entry["reason"] == "requested"
    assert entry["intent"] == "talk_to_human" and entry["confidence"] > 0
    assert entry["last_message"] == ASK_FOR_PERSON
    assert entry["waiting_seconds"] >= 0
    assert [e["state"] for e in queue] == sorted(
        (e["state"] for e in queue), key=lambda state: state != "waiting"
    )

    acknowledged = _say(client, conversation_id, "hello? where is my order")
    assert acknowledged["answered_by"] == "held"
    assert acknowledged["reply"] == client.app.state.runtime.settings.handoff.acknowledgement
    silent = _say(client, conversation_id, "anyone there?")
    assert (silent["answered_by"], silent["reply"]) == ("held", "")


def test_one_agent_claims_a_second_claim_gets_409(client: TestClient) -> None:
    conversation_id = _handed_off(client)
    claimed = _post(client, conversation_id, "claim", "alice")
    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()["state"], claimed.json()["agent"]) == ("agent", "alice")
    assert _post(client, conversation_id, "claim", "alice").status_code == 200  # idempotent
    second = _post(client, conversation_id, "claim", "bob")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "handoff_conflict"
    assert _post(client, conversation_id, "reply", "bob", text="me too").status_code == 409
    assert _post(client, "no-such-conversation", "claim", "bob").status_code == 404


def test_with_an_agent_100_customer_messages_get_no_bot_reply(client: TestClient) -> None:
    conversation_id = _handed_off(client)
    assert _post(client, conversation_id, "claim", "alice").status_code == 200
    replies = [
        _say(client, conversation_id, f"message {n}: where is my order?") for n in range(100)
    ]
    assert [(r["answered_by"], r["reply"]) for r in replies] == [("held", "")] * 100
    turns = client.get(f"/v1/agent/conversations/{conversation_id}").json()["turns"]
    after_handoff = turns[2:]  # the handoff request and the bot's handoff reply
    assert len(after_handoff) == 100
    assert {t["role"] for t in after_handoff} == {"customer"}
    assert all(t["intent"] == "order_status" and t["ranking"] for t in after_handoff)


def test_replies_and_notes_are_in_the_history_with_their_authors(client: TestClient) -> None:
    conversation_id = _handed_off(client)
    _post(client, conversation_id, "claim", "alice")
    reply = _post(client, conversation_id, "reply", "alice", text="Hi, I'm Alice.")
    assert reply.status_code == 200, reply.text
    assert (reply.json()["role"], reply.json()["agent"]) == ("agent", "alice")
    note = _post(client, conversation_id, "notes", "bob", text="VIP customer")
    assert note.status_code == 200 and note.json()["role"] == "note"
    assert _post(client, conversation_id, "reply", "alice", text="").status_code == 422

    customer_view = client.get(
        f"/v1/conversations/{conversation_id}", headers=token_headers(client, conversation_id)
    ).json()["turns"]
    assert [(t["role"], t.get("agent")) for t in customer_view] == [
        ("customer", None),
        ("bot", None),
        ("agent", "alice"),
    ]
    agent_view = client.get(f"/v1/agent/conversations/{conversation_id}").json()["turns"]
    assert [t["role"] for t in agent_view] == ["customer", "bot", "agent", "note"]


def test_handed_back_the_bot_answers_again(client: TestClient) -> None:
    conversation_id = _handed_off(client)
    _post(client, conversation_id, "claim", "alice")
    assert _post(client, conversation_id, "handback", "bob").status_code == 409
    back = _post(client, conversation_id, "handback", "alice")
    assert back.status_code == 200 and back.json()["state"] == "bot"
    answered = _say(client, conversation_id, "where is my order?")
    assert answered["answered_by"] != "held" and answered["reply"]
    resolved = _post(client, conversation_id, "resolve", "alice")
    assert resolved.json()["state"] == "resolved"
    assert _post(client, conversation_id, "resolve", "alice").status_code == 409
    queue = client.get("/v1/agent/queue").json()["conversations"]
    assert conversation_id not in {e["conversation_id"] for e in queue}


def test_events_reach_the_agent_feed_and_the_customer_socket(client: TestClient) -> None:
    created = client.post("/v1/conversations").json()
    conversation_id, token = created["conversation_id"], created["token"]
    url = f"/v1/conversations/{conversation_id}/ws?token={token}"
    with (
        client.websocket_connect("/v1/agent/feed?agent=alice") as feed,
        client.websocket_connect(url) as customer,
    ):
        assert feed.receive_json()["event"] == "queue"
        assert customer.receive_json()["event"] == "history"
        customer.send_json({"type": "message", "parts": [{"type": "text", "text": ASK_FOR_PERSON}]})
        events = [customer.receive_json() for _ in range(4)]
        assert [e["event"] for e in events] == ["received", "typing", "reply", "handoff"]
        handoff = feed.receive_json()
        assert (handoff["event"], handoff["conversation_id"]) == ("handoff", conversation_id)

        customer.send_json({"type": "message", "parts": [{"type": "text", "text": "my order"}]})
        message = feed.receive_json()
        assert message["event"] == "customer_message"
        assert message["entries"][0]["text"] == "my order"

        _post(client, conversation_id, "claim", "alice")
        feed.send_json({"type": "typing", "conversation_id": conversation_id})
        _post(client, conversation_id, "reply", "alice", text="Alice here")
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["event"] != "agent_message":
            seen.append(customer.receive_json())
        kinds = [e["event"] for e in seen]
        assert "agent_joined" in kinds and "agent_typing" in kinds
        joined = next(e for e in seen if e["event"] == "agent_joined")
        assert joined["agent"] == "alice"
        assert seen[-1]["entries"][0]["text"] == "Alice here"

    with client.websocket_connect(url) as again:
        history = again.receive_json()
        assert (history["state"], history["agent"]) == ("agent", "alice")
        assert [t["role"] for t in history["turns"]][-1] == "agent"


def test_metrics_and_the_inbox_page(client: TestClient) -> None:
    conversation_id = _handed_off(client)
    _post(client, conversation_id, "claim", "carol")
    _post(client, conversation_id, "reply", "carol", text="Hello")
    _post(client, conversation_id, "resolve", "carol")
    client.get("/v1/agent/queue")
    metrics = client.get("/metrics").text
    assert 'fusiondesk_handoffs_by_reason_total{reason="requested"}' in metrics
    assert "fusiondesk_handoff_queue_length" in metrics
    assert "fusiondesk_handoff_first_agent_reply_seconds_count" in metrics
    assert 'fusiondesk_conversations_resolved_total{by="agent"}' in metrics
    page = client.get("/agent/")
    assert page.status_code == 200 and "Agent inbox" in page.text
    assert client.get("/agent/inbox.js").headers["content-type"].startswith("text/javascript")
    missing = client.get("/agent/secret.txt")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_desk_needs_an_agent_key_when_auth_is_on(settings: Settings) -> None:
    keys = {"chat-key": ["chat"], "agent-key": ["agent"]}
    secured = settings.model_copy(
        update={
            "auth": Auth(
                required=True,
                api_keys=[
                    ApiKey(name=key, sha256=sha256_hex(key), scopes=scopes)
                    for key, scopes in keys.items()
                ],
            )
        }
    )
    # The desk needs no model: the app answers while its models are still loading.
    with TestClient(create_app(secured), raise_server_exceptions=False) as app:
        assert app.get("/v1/agent/queue").status_code == 401
        assert app.get("/v1/agent/queue", headers={"X-API-Key": "chat-key"}).status_code == 403
        assert app.get("/v1/agent/queue", headers={"X-API-Key": "agent-key"}).status_code == 200
        with pytest.raises(WebSocketDenialResponse) as refused:
            with app.websocket_connect("/v1/agent/feed?key=chat-key"):
                pass
        assert refused.value.status_code == 403
        with app.websocket_connect("/v1/agent/feed?key=agent-key") as feed:
            assert feed.receive_json()["event"] == "queue"
            feed.send_text("{not json")
            assert feed.receive_json()["code"] == "unknown_frame"
            feed.send_json({"type": "ping"})
            assert feed.receive_json() == {"event": "pong"}


def test_the_agent_sees_the_customers_image_once_handed_off(client: TestClient) -> None:
    if "image" not in client.app.state.runtime.registry.part_types:
        pytest.skip("no plugin for 'image' parts is installed")
    photo = encode(parcel_photo(), "PNG")
    image_part = {
        "type": "image",
        "data": base64.b64encode(photo).decode(),
        "media_type": "image/png",
    }
    # The demo model reads text only: the photo comes with words.
    parts = [image_part, {"type": "text", "text": "my parcel arrived broken, see the photo"}]
    before = "img-" + secrets.token_hex(6)
    send_parts(client, parts, before)
    bot_only = client.get(f"/v1/agent/conversations/{before}").json()["turns"][0]
    assert "media" not in bot_only["parts"][0]  # a bot conversation keeps no bytes

    conversation_id = _handed_off(client)
    held = send_parts(client, parts, conversation_id)
    assert held["answered_by"] == "held"
    turns = client.get(f"/v1/agent/conversations/{conversation_id}").json()["turns"]
    customer = [t for t in turns if t["role"] == "customer"][-1]  # then the acknowledgement
    key = customer["parts"][0]["media"]
    kept = client.get(f"/v1/agent/conversations/{conversation_id}/media/{key}")
    assert kept.status_code == 200
    assert (kept.headers["content-type"], kept.content) == ("image/png", photo)
    missing = client.get(f"/v1/agent/conversations/{conversation_id}/media/{key}x")
    assert missing.status_code == 404


def test_without_a_websocket_the_customer_follows_the_agent_by_sse(client: TestClient) -> None:
    created = client.post("/v1/conversations").json()
    conversation_id, token = created["conversation_id"], created["token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.post(
        f"/v1/conversations/{conversation_id}/messages",
        headers=headers,
        json={"parts": [{"type": "text", "text": ASK_FOR_PERSON}]},
    )
    assert client.get(f"/v1/conversations/{conversation_id}/events").status_code == 404
    events: list[dict[str, Any]] = []
    with client.stream(
        "GET", f"/v1/conversations/{conversation_id}/events", headers=headers
    ) as stream:
        lines = stream.iter_lines()
        assert next(lines) == ": following"  # subscribed: what follows reaches it
        _post(client, conversation_id, "claim", "alice")
        _post(client, conversation_id, "notes", "alice", text="never shown to the customer")
        _post(client, conversation_id, "reply", "alice", text="Alice here")
        for line in lines:
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
                if events[-1]["event"] == "agent_message":
                    break
    assert [e["event"] for e in events] == ["agent_joined", "agent_message"]
    assert events[1]["entries"][0]["text"] == "Alice here"


def _customer_handed_off(client: TestClient) -> tuple[str, dict[str, str]]:
    """A conversation with a token (as the widget makes it), handed off and claimed by alice."""
    created = client.post("/v1/conversations").json()
    conversation_id, token = created["conversation_id"], created["token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.post(
        f"/v1/conversations/{conversation_id}/messages",
        headers=headers,
        json={"parts": [{"type": "text", "text": ASK_FOR_PERSON}]},
    )
    assert _post(client, conversation_id, "claim", "alice").status_code == 200
    return conversation_id, headers


def test_an_agent_replies_with_a_file_the_customer_fetches_with_the_token(
    client: TestClient,
) -> None:
    conversation_id, customer = _customer_handed_off(client)
    photo = encode(parcel_photo(), "PNG")
    sent = client.post(
        f"/v1/agent/conversations/{conversation_id}/reply",
        headers=_as("alice"),
        data={"text": "This is the parcel we sent."},
        files=[("files", ("../../parcel.png", photo, "application/octet-stream"))],
    )
    assert sent.status_code == 200, sent.text
    (attachment,) = sent.json()["attachments"]
    # The type comes from the bytes, the name without the folders the client sent.
    assert attachment["media_type"] == "image/png"
    assert (attachment["name"], attachment["size"]) == ("parcel.png", len(photo))

    history = client.get(f"/v1/conversations/{conversation_id}", headers=customer).json()
    agent_entry = [t for t in history["turns"] if t["role"] == "agent"][-1]
    assert agent_entry["text"] == "This is the parcel we sent."
    assert agent_entry["attachments"] == [attachment]

    url = f"/v1/conversations/{conversation_id}/media/{attachment['key']}"
    fetched = client.get(url, headers=customer)
    assert fetched.status_code == 200
    assert (fetched.headers["content-type"], fetched.content) == ("image/png", photo)
    by_query = client.get(url, params={"token": customer["Authorization"].split()[1]})
    assert by_query.content == photo  # what an <img src> sends
    assert client.get(url).status_code in (401, 403, 404)
    other_token = client.post("/v1/conversations").json()["token"]
    refused = client.get(url, headers={"Authorization": f"Bearer {other_token}"})
    assert refused.status_code in (401, 403, 404)
    assert refused.content != photo
    agent_copy = client.get(f"/v1/agent/conversations/{conversation_id}/media/{attachment['key']}")
    assert agent_copy.content == photo


def test_a_pdf_alone_is_a_reply_and_is_downloaded(client: TestClient) -> None:
    conversation_id, customer = _customer_handed_off(client)
    pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
    sent = client.post(
        f"/v1/agent/conversations/{conversation_id}/reply",
        headers=_as("alice"),
        files=[("files", ("label.pdf", pdf, "application/pdf"))],
    )
    assert sent.status_code == 200, sent.text
    (attachment,) = sent.json()["attachments"]
    assert (attachment["media_type"], sent.json().get("text", "")) == ("application/pdf", "")
    fetched = client.get(
        f"/v1/conversations/{conversation_id}/media/{attachment['key']}", headers=customer
    )
    assert fetched.content == pdf
    assert fetched.headers["content-disposition"] == "attachment"


def test_agent_files_of_a_wrong_type_or_too_big_are_refused(client: TestClient) -> None:
    conversation_id, customer = _customer_handed_off(client)
    url = f"/v1/agent/conversations/{conversation_id}/reply"
    # Announced as a PNG, but the bytes are a script: the bytes decide.
    script = ("hello.png", b"<script>alert(1)</script>", "image/png")
    wrong = client.post(url, headers=_as("alice"), data={"text": "x"}, files=[("files", script)])
    assert wrong.status_code == 415
    assert wrong.json()["error"]["code"] == "unsupported_media"

    limits = client.app.state.runtime.settings.limits
    photo = ("p.png", encode(parcel_photo(), "PNG"), "image/png")
    too_many = client.post(
        url, headers=_as("alice"), files=[("files", photo)] * (limits.max_parts + 1)
    )
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "too_many_parts"
    huge = ("big.png", b"\x89PNG\r\n\x1a\n" + bytes(limits.max_body_bytes), "image/png")
    too_big = client.post(url, headers=_as("alice"), files=[("files", huge)])
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "body_too_large"

    empty = client.post(url, headers=_as("alice"), data={"text": "  "})
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "empty_reply"
    history = client.get(f"/v1/conversations/{conversation_id}", headers=customer).json()
    assert not [t for t in history["turns"] if t["role"] == "agent"]  # nothing half-stored
