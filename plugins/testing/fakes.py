"""Fakes for fast unit tests: deterministic, instant, no model files.

``FakeSentenceEncoder`` stands in for ``fusiondesk.plugins.text.encoder.SentenceEncoder`` in a
plugin that embeds text (override ``setup`` in a test subclass to use it); ``FakeTextPlugin`` and
``FakeCaptionPlugin`` stand in for whole plugins when testing code that drives plugins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from fusiondesk.plugins.base import Encoding, ModalityPlugin, Part, Payload, SlotSpec
from fusiondesk.plugins.errors import InvalidInputError


def hashed_vector(text: str, dim: int) -> np.ndarray:
    """A unit float32 vector that depends only on ``text``: equal texts, equal vectors."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


class FakeSentenceEncoder:
    """Duck-types ``SentenceEncoder.encode``: hashed vectors instead of a transformer."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.calls: list[int] = []
        """Batch sizes seen, so tests can check batching."""

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        self.calls.append(len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([hashed_vector(text, self.dim) for text in texts])


class FakeTextPlugin(ModalityPlugin):
    """Claims ``text`` parts; records batch sizes; the text ``poison`` makes ``encode`` fail."""

    name = "fake_text"
    modality = "text"
    part_types = ("text",)
    slots = (SlotSpec("text", 8, space="text"),)
    max_batch_size = 4

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__()
        self.batches: list[int] = []

    def preprocess(self, part: Part) -> Payload:
        if not part.text:
            raise InvalidInputError("empty text", code="empty_text")
        return {"text": part.text}

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        self.batches.append(len(payloads))
        if any(payload["text"] == "poison" for payload in payloads):
            raise RuntimeError("poison payload")
        return [Encoding({"text": hashed_vector(p["text"], 8)}) for p in payloads]


class FakeCaptionPlugin(ModalityPlugin):
    """A second modality whose slot shares the text space (like OCR text)."""

    name = "fake_caption"
    modality = "caption"
    part_types = ("caption",)
    slots = (SlotSpec("caption_text", 8, space="text"),)

    def preprocess(self, part: Part) -> Payload:
        return {"text": part.text or ""}

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        return [
            Encoding({"caption_text": hashed_vector(p["text"], 8)}, {"caption": p["text"]})
            for p in payloads
        ]
