"""The service's own text encoder as a LangChain ``Embeddings``.

Questions, transcripts and OCR text are embedded by the same all-MiniLM encoder the intent
model reads (``shared_sentence_encoder``), so the knowledge base costs no second model.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.embeddings import Embeddings

from fusiondesk.plugins.text.encoder import SentenceEncoder, shared_sentence_encoder
from fusiondesk.service.understanding.batching import DrainingBatcher

QUERY_BATCH_SIZE = 64


class EncoderEmbeddings(Embeddings):
    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        # Questions asked at the same moment share one encoder forward, in one thread, instead
        # of as many forwards as questions fighting for the cores.
        self._queries = DrainingBatcher[str, list[float]](
            lambda texts: self.embed_documents(list(texts)), max_batch_size=QUERY_BATCH_SIZE
        )

    @classmethod
    def shared(cls, model_path: Path, device: str = "cpu") -> EncoderEmbeddings:
        return cls(shared_sentence_encoder(model_path, device))

    @property
    def identity(self) -> str:
        """What the vectors depend on; an index built by another encoder is rebuilt."""
        return f"{self.encoder.model_path.resolve()}:{self.encoder.dim}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [vector.tolist() for vector in self.encoder.encode(texts)]

    def embed_query(self, text: str) -> list[float]:
        [vector] = self.encoder.encode([text])
        return list(vector.tolist())

    async def aembed_query(self, text: str) -> list[float]:
        return await self._queries.submit(text)
