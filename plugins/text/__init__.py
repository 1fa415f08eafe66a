"""Built-in text plugin: typed text to an all-MiniLM-L6-v2 sentence embedding."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from plugins.base import Encoding, ModalityPlugin, Part, Payload, PluginConfig, SlotSpec
from plugins.errors import InputTooLargeError, InvalidInputError
from plugins.text.encoder import SentenceEncoder, packaged_minilm_path, shared_sentence_encoder

TEXT_SPACE = "text"
"""The vector space of the shared text encoder: typed text, transcripts and OCR text."""
TEXT_DIM = 384


class TextConfig(PluginConfig):
    model_path: Path = Field(default_factory=packaged_minilm_path)
    max_chars: int = Field(default=4000, ge=1)


class TextPlugin(ModalityPlugin):
    name = "text"
    modality = "text"
    part_types = ("text",)
    slots = (SlotSpec("text", TEXT_DIM, space=TEXT_SPACE),)
    max_batch_size = 64
    max_wait_ms = 3.0
    Config = TextConfig
    config: TextConfig

    def setup(self) -> None:
        self.encoder = shared_sentence_encoder(self.config.model_path, self.device)

    def preprocess(self, part: Part) -> Payload:
        if part.text is None:
            raise InvalidInputError("A text part needs a 'text' field.", code="missing_text")
        text = " ".join(part.text.split())
        if not text:
            raise InvalidInputError("The text part is empty.", code="empty_text")
        if len(text) > self.config.max_chars:
            raise InputTooLargeError(
                f"Text is {len(text)} characters; the limit is {self.config.max_chars}.",
                code="text_too_long",
            )
        return {"text": text}

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        vectors = self.encoder.encode([payload["text"] for payload in payloads])
        return [Encoding(slots={"text": vector}) for vector in vectors]


__all__ = ["TEXT_DIM", "TEXT_SPACE", "SentenceEncoder", "TextConfig", "TextPlugin"]
