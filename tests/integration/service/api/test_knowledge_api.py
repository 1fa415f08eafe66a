"""The demo domain's knowledge base behind the real API: cited answers and handoff."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fusiondesk.service.demo import DEMO_DOMAIN
from fusiondesk.service.replies.domain import Domain
from fusiondesk.service.replies.knowledge.base import ScoredRetriever
from fusiondesk.service.replies.knowledge.documents import load_entries
from tests.integration.service.api.messages import send_text

pytestmark = pytest.mark.integration


def test_the_demo_ships_a_knowledge_base_of_at_least_20_entries() -> None:
    files = Domain.load(DEMO_DOMAIN).knowledge_files()
    assert {file.name for file in files} >= {"shipping.md", "returns.md", "payments.md"}
    assert len(load_entries(files)) >= 20


@pytest.mark.parametrize(
    ("question", "title", "file"),
    [
        ("is there a shop in Manchester I can visit?", "Do you have physical stores?", "store.md"),
        (
            "how long is the guarantee on a coffee machine?",
            "What warranty do your products have?",
            "warranty.md",
        ),
        ("can I split the cost into monthly payments?", "Can I pay in instalments?", "payments.md"),
    ],
)
def test_questions_the_intents_miss_are_answered_from_the_faq(
    client: TestClient, question: str, title: str, file: str
) -> None:
    body = send_text(client, question, f"kb-{file}")
    assert body["answered_by"] == "knowledge", body
    [top, *_] = body["sources"]
    assert (top["title"], top["file"]) == (title, file)
    entries = load_entries(Domain.load(DEMO_DOMAIN).knowledge_files())
    [entry] = [e for e in entries if e.metadata["title"] == title]
    assert body["reply"] == entry.metadata["answer"]


def test_two_misunderstood_messages_in_a_row_hand_the_conversation_off(
    client: TestClient,
) -> None:
    first = send_text(client, "what's the best recipe for banana bread", "kb-handoff")
    assert (first["answered_by"], first["handoff"]) == ("fallback", False)
    second = send_text(client, "which planet has the most moons", "kb-handoff")
    assert (second["answered_by"], second["handoff"]) == ("handoff", True)


def test_a_typed_question_is_searched_with_the_routers_own_vector(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    searched: list[int] = []
    original = ScoredRetriever.search_by_vector

    def counting(self: ScoredRetriever, vector: Any) -> Any:
        searched.append(len(vector))
        return original(self, vector)

    monkeypatch.setattr(ScoredRetriever, "search_by_vector", counting)
    body = send_text(client, "is there a shop in Manchester I can visit?", "kb-vector")
    assert body["answered_by"] == "knowledge"
    assert searched == [384]  # the text slot's vector: no second forward of the encoder
