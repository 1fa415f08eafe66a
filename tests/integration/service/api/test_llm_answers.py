"""An LLM configured by settings, over HTTP: a tiny OpenAI-compatible server on 127.0.0.1
streams its answer; the responder relays the tokens and cites the retrieved entries."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fusiondesk.plugins.text.encoder import packaged_minilm_path
from fusiondesk.service.replies.domain import Domain
from fusiondesk.service.replies.knowledge import EncoderEmbeddings, KnowledgeBase
from fusiondesk.service.replies.knowledge.llm import build_chat_model
from fusiondesk.service.replies.responder import ReplyChunk, Responder
from fusiondesk.service.replies.templates import Reply, TemplateResponder
from fusiondesk.service.settings import LLMSettings, ResponderSettings
from tests.unit.faq_fixture import faq_markdown
from tests.unit.service.replies.domains import DOMAIN_V1
from tests.unit.service.replies.test_responder import request

pytest.importorskip("langchain_openai", reason="the `llm` extra (langchain-openai) is absent")
pytestmark = pytest.mark.integration

TOKENS = ["EU ", "roaming ", "is ", "included."]


class OpenAICompatibleServer:
    """Answers ``POST /v1/chat/completions`` with TOKENS as server-sent events, or fails."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, Any], str]] = []
        self.fail = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append((body, self.headers.get("Authorization", "")))
                if owner.fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for token in TOKENS:
                    chunk = {
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {"index": 0, "delta": {"content": token}, "finish_reason": None}
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def llm_server() -> Iterator[OpenAICompatibleServer]:
    server = OpenAICompatibleServer()
    thread = threading.Thread(target=server.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join()


def stream(responder: Responder, question: str) -> list[ReplyChunk | Reply]:
    async def collect() -> list[ReplyChunk | Reply]:
        events = [e async for e in responder.stream(request("x", question, out_of_scope=True))]
        await responder.aclose()
        return events

    return asyncio.run(collect())


@pytest.fixture(scope="module")
def faq_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FAQ, a domain and the index built once for the module."""
    directory = tmp_path_factory.mktemp("llm")
    (directory / "faq.md").write_text(faq_markdown(), encoding="utf-8")
    (directory / "domain.yaml").write_text(DOMAIN_V1, encoding="utf-8")
    return directory


@pytest.fixture
def responder_with_llm(faq_dir: Path, llm_server: OpenAICompatibleServer) -> Responder:
    settings = LLMSettings(
        provider="openai",
        model="tiny-local",
        base_url=llm_server.base_url,
        api_key="sk-test-key",  # type: ignore[arg-type]  # pydantic turns it into a SecretStr
        options={"max_retries": 0, "timeout": 5},
    )
    knowledge, _ = KnowledgeBase.open(
        [faq_dir / "faq.md"],
        EncoderEmbeddings.shared(packaged_minilm_path()),
        faq_dir / "index",
        top_k=2,
        score_threshold=0.3,
        llm=build_chat_model(settings),
    )
    domain = Domain.load(faq_dir / "domain.yaml")
    return Responder(TemplateResponder(domain), ResponderSettings(), knowledge=knowledge)


def test_llm_tokens_stream_through_and_the_prompt_holds_the_entries(
    responder_with_llm: Responder, llm_server: OpenAICompatibleServer
) -> None:
    *chunks, reply = stream(responder_with_llm, "is using my phone in France extra?")
    assert [c.text for c in chunks if isinstance(c, ReplyChunk)] == TOKENS
    assert isinstance(reply, Reply)
    assert reply.text == "".join(TOKENS) and reply.answered_by == "knowledge"
    assert reply.sources[0].title == "How does roaming work abroad?"
    [(body, authorization)] = llm_server.requests
    assert authorization == "Bearer sk-test-key"
    assert body["model"] == "tiny-local" and body["stream"] is True
    system, human = body["messages"]
    assert "Roaming in the EU is included in your plan" in system["content"]
    assert human["content"] == "is using my phone in France extra?"


def test_a_failing_llm_falls_back_to_the_entry_text(
    responder_with_llm: Responder, llm_server: OpenAICompatibleServer
) -> None:
    llm_server.fail = True
    *_, reply = stream(responder_with_llm, "is using my phone in France extra?")
    assert isinstance(reply, Reply)
    assert reply.text.startswith("Roaming in the EU is included in your plan")
    assert reply.answered_by == "knowledge"
