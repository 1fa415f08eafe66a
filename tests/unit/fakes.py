"""Small fake plugins for unit tests: deterministic, instant, no model files."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from plugins import Encoding, InvalidInputError, ModalityPlugin, Part, Payload, SlotSpec
from service.training.features import Features


def hashed_vector(text: str, dim: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return vector / np.linalg.norm(vector)


class FakeTextPlugin(ModalityPlugin):
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


def gaussian_blobs(
    n_per_class: int = 60, classes: int = 4, seed: int = 0
) -> tuple[Features, list[str]]:
    """Well-separated gaussian clusters in a 'text' slot, plus a noisy 'image' slot."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, 16)) * 3
    rows = np.repeat(np.arange(classes), n_per_class)
    text = (centres[rows] + rng.standard_normal((len(rows), 16))).astype(np.float32)
    image = rng.standard_normal((len(rows), 8)).astype(np.float32)
    features = Features(
        values={"text": text, "image": image},
        present={"text": np.ones(len(rows), bool), "image": rng.random(len(rows)) < 0.5},
        specs={"text": SlotSpec("text", 16, "text"), "image": SlotSpec("image", 8)},
    )
    return features, [f"intent_{r}" for r in rows]
