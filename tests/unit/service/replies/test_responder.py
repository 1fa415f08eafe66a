"""The responder: templates or handoff by the policy, and the webhooks it calls."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from fusiondesk.service.conversations.store import Turn
from fusiondesk.service.errors import ConfigurationError
from fusiondesk.service.replies.domain import Domain
from fusiondesk.service.replies.responder import (
    ReplyChunk,
    ReplyRequest,
    Responder,
    consecutive_failures,
)
from fusiondesk.service.replies.templates import Reply, TemplateResponder
from fusiondesk.service.settings import ResponderSettings
from fusiondesk.service.understanding.fusion import Prediction, RankedIntent
from tests.unit.service.replies.domains import DOMAIN_V1, write
from tests.unit.webhook_server import webhook_server


def prediction(intent: str, *, out_of_scope: bool = False) -> Prediction:
    confidence = 0.2 if out_of_scope else 0.95
    return Prediction(intent, confidence, [RankedIntent(intent, confidence)], out_of_scope)


def request(
    intent: str,
    text: str = "",
    *,
    out_of_scope: bool = False,
    turn: int = 0,
    history: Sequence[Turn] = (),
) -> ReplyRequest:
    return ReplyRequest(
        prediction(intent, out_of_scope=out_of_scope),
        "conversation-1",
        turn=turn,
        text=text,
        history=list(history),
    )


def turn_answered_by(answered_by: str) -> Turn:
    return Turn("m", [], "x", 0.1, True, "r", time.time(), answered_by=answered_by)


def respond(responder: Responder, reply_request: ReplyRequest) -> Reply:
    async def run() -> Reply:
        reply = await responder.respond(reply_request)
        await responder.aclose()  # waits for the webhook deliveries
        return reply

    return asyncio.run(run())


def test_a_version_1_domain_loads_and_replies_as_before(tmp_path: Path) -> None:
    domain = Domain.load(write(tmp_path, DOMAIN_V1))
    templates = TemplateResponder(domain)
    responder = Responder(templates, ResponderSettings())
    reply = respond(responder, request("order_status", "where is my parcel"))
    assert reply.text in domain.intents["order_status"].replies
    assert reply.quick_replies == ["Track my order"]
    assert (reply.handoff, reply.answered_by, reply.sources) == (False, "template", [])


def test_variations_are_reproducible_and_vary_across_turns(domain: Domain) -> None:
    settings = ResponderSettings(handoff_after_failures=99, webhooks={"crm": "http://unused"})
    responder = Responder(TemplateResponder(domain), settings)
    texts = [
        respond(responder, request("x", "hm", out_of_scope=True, turn=turn)).text
        for turn in range(12)
    ]
    again = [
        respond(responder, request("x", "hm", out_of_scope=True, turn=turn)).text
        for turn in range(12)
    ]
    assert texts == again
    assert set(texts) == set(domain.fallback)


def test_an_unconfigured_webhook_action_is_refused_at_start(domain: Domain) -> None:
    with pytest.raises(ConfigurationError, match="crm"):
        Responder(TemplateResponder(domain), ResponderSettings())


def test_stream_yields_chunks_then_the_reply(domain: Domain) -> None:
    settings = ResponderSettings(webhooks={"crm": "http://127.0.0.1:9/unused"})
    responder = Responder(TemplateResponder(domain), settings)

    async def collect() -> list[ReplyChunk | Reply]:
        return [event async for event in responder.stream(request("order_status", "#12345"))]

    events = asyncio.run(collect())
    *chunks, reply = events
    assert all(isinstance(chunk, ReplyChunk) for chunk in chunks) and chunks
    assert isinstance(reply, Reply)
    assert "".join(chunk.text for chunk in chunks if isinstance(chunk, ReplyChunk)) == reply.text
    assert reply.entities == {"order_number": "12345"}


def test_requested_handoff_flags_the_conversation_and_calls_the_webhook(domain: Domain) -> None:
    with webhook_server() as server:
        settings = ResponderSettings(
            handoff_webhook_url=f"{server.url}/handoff?token=s3cret",
            webhooks={"crm": f"{server.url}/crm"},
        )
        responder = Responder(TemplateResponder(domain), settings)
        history = [turn_answered_by("template")]
        reply = respond(
            responder, request("talk_to_human", "a person please, order #55555", history=history)
        )
    assert reply.handoff and reply.answered_by == "handoff"
    assert reply.text == "Of course, a person will reply."
    [(path, event)] = server.events
    assert path == "/handoff?token=s3cret"
    assert event["event"] == "handoff" and event["reason"] == "requested"
    assert event["conversation_id"] == "conversation-1"
    assert event["intent"] == "talk_to_human"
    assert event["slots"] == {"order_number": "55555"}
    assert event["message"] == "a person please, order #55555"
    assert event["history"] == [{"intent": "x", "reply": "r", "answered_by": "template"}]


def test_repeated_failure_hands_off_on_the_second_consecutive_miss(domain: Domain) -> None:
    with webhook_server() as server:
        settings = ResponderSettings(
            handoff_webhook_url=f"{server.url}/handoff", webhooks={"crm": server.url}
        )
        responder = Responder(TemplateResponder(domain), settings)
        first = respond(responder, request("x", "blorp", out_of_scope=True))
        assert (first.answered_by, first.handoff) == ("fallback", False)
        assert first.quick_replies == ["Talk to a person"]
        assert server.events == []

        history = [turn_answered_by("template"), turn_answered_by(first.answered_by)]
        second = respond(responder, request("x", "zzz", out_of_scope=True, history=history))
        assert (second.answered_by, second.handoff) == ("handoff", True)
        assert second.text == "Handing you over."
        [(_, event)] = server.events
        assert event["reason"] == "repeated_failure" and event["out_of_scope"] is True

        # A handoff resets the count: the next miss is a first miss again.
        history = [turn_answered_by("fallback"), turn_answered_by("handoff")]
        third = respond(responder, request("x", "zzz", out_of_scope=True, history=history))
        assert third.answered_by == "fallback"


def test_consecutive_failures_counts_only_the_latest_run() -> None:
    kinds = ["fallback", "template", "fallback", "fallback"]
    assert consecutive_failures([turn_answered_by(kind) for kind in kinds]) == 2
    assert consecutive_failures([]) == 0


def test_webhook_action_posts_to_its_named_url(domain: Domain) -> None:
    with webhook_server() as server:
        settings = ResponderSettings(webhooks={"crm": f"{server.url}/crm"})
        responder = Responder(TemplateResponder(domain), settings)
        reply = respond(responder, request("order_lookup", "look up order 424242"))
    assert reply.text == "Looking it up." and not reply.handoff
    [(path, event)] = server.events
    assert path == "/crm"
    assert event["event"] == "action" and event["action"] == "crm"
    assert event["slots"] == {"order_number": "424242"}


@pytest.mark.parametrize("failure", ["error_status", "unreachable", "too_slow"])
def test_a_failing_webhook_is_logged_and_never_breaks_or_delays_the_reply(
    domain: Domain, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    with webhook_server() as server:
        url = f"{server.url}/handoff?token=s3cret"
        if failure == "error_status":
            server.status = 500
        elif failure == "unreachable":
            url = "http://127.0.0.1:9/handoff?token=s3cret"  # the discard port: refused
        else:
            server.delay_s = 1.0
        settings = ResponderSettings(
            handoff_webhook_url=url, webhooks={"crm": server.url}, webhook_timeout_s=0.3
        )
        responder = Responder(TemplateResponder(domain), settings)

        async def run() -> tuple[Reply, float]:
            started = time.perf_counter()
            reply = await responder.respond(request("talk_to_human", "human please"))
            elapsed = time.perf_counter() - started
            await responder.aclose()
            return reply, elapsed

        with caplog.at_level(logging.WARNING, logger="fusiondesk.service.replies.webhooks"):
            reply, elapsed = asyncio.run(run())
    assert reply.handoff and reply.text == "Of course, a person will reply."
    assert elapsed < 0.25, "the reply waited for the webhook"
    [record] = [r for r in caplog.records if r.name == "fusiondesk.service.replies.webhooks"]
    assert "webhook handoff to http://127.0.0.1 failed" in record.getMessage()
    assert "s3cret" not in record.getMessage()


def test_the_responder_reads_typed_spoken_and_pictured_words() -> None:
    from fusiondesk.plugins import Part
    from fusiondesk.service.conversations.turns import message_text
    from fusiondesk.service.understanding.router import PartResult

    parts = [Part("text", text="order #12345"), Part("audio", data=b"..."), Part("image")]
    results = [
        PartResult("text", "text", ["text"], {}),
        PartResult("audio", "voice", ["speech"], {"transcript": "it never arrived"}),
        PartResult("image", "image", ["pixels"], {"ocr": {"text": "Invoice 98765"}, "width": 10}),
    ]
    assert message_text(parts, results) == "order #12345\nit never arrived\nInvoice 98765"
