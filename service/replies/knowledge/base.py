"""The retrieval chain: a question → the best knowledge entries → an answer that cites them.

Retrieval keeps only entries at or above a cosine-similarity threshold, so a question the
knowledge base does not cover finds nothing and the responder falls back. The answer step is
a LangChain runnable: with a chat model, ``prompt | llm | parser`` grounded in the retrieved
entries (streamed token by token); without one, the top entry's own text (extractive).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.vectorstores import InMemoryVectorStore
from pydantic import PrivateAttr

from fusiondesk.service.replies.knowledge.embeddings import EncoderEmbeddings
from fusiondesk.service.replies.knowledge.index import OpenedIndex, open_index

logger = logging.getLogger(__name__)

GROUNDED_PROMPT = ChatPromptTemplate.from_messages(
    [
        (
            "system",
            "You are a customer-service assistant. Answer the customer's question using only "
            "the knowledge-base entries below, briefly and in a friendly tone. If they do not "
            "contain the answer, say you don't know.\n\n{context}",
        ),
        ("human", "{question}"),
    ]
)


@dataclass(frozen=True)
class Hit:
    """One retrieved entry: ``answer`` is its body text, ``score`` its cosine similarity."""

    title: str
    file: str
    answer: str
    score: float


class ScoredRetriever(BaseRetriever):
    """Top-k similarity search that drops entries below the score threshold."""

    store: InMemoryVectorStore
    k: int
    threshold: float
    _entries: tuple[list[Document], np.ndarray] | None = PrivateAttr(default=None)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self._kept(self.store.similarity_search_with_score(query, k=self.k))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        # The store's async search embeds through ``aembed_query``: batched with other questions.
        return self._kept(await self.store.asimilarity_search_with_score(query, k=self.k))

    def search_by_vector(self, vector: np.ndarray) -> list[Document]:
        """The store's cosine search, on a matrix of its unit vectors kept between calls: the
        store rebuilds that matrix from its lists on every search, most of a search's time on
        the message path."""
        if not self.store.store:
            return []
        documents, units = self._unit_vectors()
        scores = units @ _unit(vector)
        best = np.argsort(-scores, kind="stable")[: self.k]
        return self._kept([(documents[index], float(scores[index])) for index in best])

    def _unit_vectors(self) -> tuple[list[Document], np.ndarray]:
        """The store's entries and their unit vectors, rebuilt when the store's size changes
        (it is filled once, when its index opens)."""
        if self._entries is None or len(self._entries[0]) != len(self.store.store):
            entries = list(self.store.store.values())
            documents = [
                Document(id=entry["id"], page_content=entry["text"], metadata=entry["metadata"])
                for entry in entries
            ]
            self._entries = (documents, np.stack([_unit(entry["vector"]) for entry in entries]))
        return self._entries

    def _kept(self, scored: list[tuple[Document, float]]) -> list[Document]:
        return [
            Document(
                page_content=document.page_content, metadata={**document.metadata, "score": score}
            )
            for document, score in scored
            if score >= self.threshold
        ]


class KnowledgeBase:
    def __init__(
        self,
        retriever: ScoredRetriever,
        llm: BaseChatModel | None = None,
        *,
        encoder_path: Path | None = None,
    ) -> None:
        self.retriever = retriever
        self.llm = llm
        self.encoder_path = encoder_path
        self._passages: dict[str, np.ndarray] = {}
        """The text encoder whose vectors the index holds: a question's vector from the same
        encoder (the router's text slot) can be searched without embedding it again."""
        self.answer_chain: Runnable[dict[str, Any], str] = (
            GROUNDED_PROMPT | llm | StrOutputParser()
            if llm is not None
            else RunnableLambda(_extractive_answer)
        )

    @classmethod
    def open(
        cls,
        files: Sequence[Path],
        embeddings: EncoderEmbeddings,
        index_root: Path,
        *,
        top_k: int,
        score_threshold: float,
        llm: BaseChatModel | None = None,
    ) -> tuple[KnowledgeBase, OpenedIndex]:
        index = open_index(files, embeddings, index_root)
        retriever = ScoredRetriever(store=index.store, k=top_k, threshold=score_threshold)
        return cls(retriever, llm, encoder_path=embeddings.encoder.model_path), index

    async def search(self, question: str, vector: np.ndarray | None = None) -> list[Hit]:
        """Entries above the threshold, best first (the encoder runs off the event loop).

        ``vector``: the question already embedded by this base's encoder; saves a forward.
        """
        if vector is None:
            documents = await self.retriever.ainvoke(question)
        else:
            documents = self.retriever.search_by_vector(vector)
        return [
            Hit(
                title=document.metadata["title"],
                file=document.metadata["file"],
                answer=document.metadata["answer"],
                score=float(document.metadata["score"]),
            )
            for document in documents
        ]

    async def closeness(
        self, question: str, passages: Sequence[str], vector: np.ndarray | None = None
    ) -> float:
        """The best cosine similarity of the question to the passages, as ``Hit.score`` is
        measured (this base's encoder); the passages' vectors are kept for the next question."""
        missing = [passage for passage in dict.fromkeys(passages) if passage not in self._passages]
        if missing:
            embedded = await asyncio.to_thread(
                self.retriever.store.embedding.embed_documents, missing
            )
            self._passages.update(zip(missing, map(_unit, embedded), strict=True))
        if vector is None:
            vector = np.asarray(await self.retriever.store.embedding.aembed_query(question))
        question_unit = _unit(vector)
        return max(float(self._passages[passage] @ question_unit) for passage in passages)

    def cited(self, hits: Sequence[Hit]) -> list[Hit]:
        """The entries an answer is drawn from: the top one alone when quoting it."""
        return list(hits) if self.llm is not None else list(hits[:1])

    async def answer(self, question: str, hits: Sequence[Hit]) -> AsyncIterator[str]:
        """The answer in chunks (one chunk when extractive); ``hits`` must not be empty.

        A chat model that fails before its first token (down, timing out) gives way to the
        extractive answer, so an LLM outage never costs the customer the reply.
        """
        inputs = {"question": question, "hits": list(hits), "context": _context(hits)}
        produced = False
        try:
            async for chunk in self.answer_chain.astream(inputs):
                if chunk:
                    produced = True
                    yield chunk
        except Exception as error:
            if produced or self.llm is None:
                raise
            logger.warning("chat model failed (%s); answering extractively", type(error).__name__)
            yield _extractive_answer(inputs)


def _unit(vector: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    return array / max(float(np.linalg.norm(array)), 1e-12)


def _extractive_answer(inputs: dict[str, Any]) -> str:
    top: Hit = inputs["hits"][0]
    return top.answer


def _context(hits: Sequence[Hit]) -> str:
    return "\n\n".join(
        f"[{number}] {hit.title} ({Path(hit.file).name})\n{hit.answer}"
        for number, hit in enumerate(hits, start=1)
    )
