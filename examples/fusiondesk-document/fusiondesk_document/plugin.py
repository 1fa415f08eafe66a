"""The document plugin: a PDF's text, embedded into the shared text space.

Its slot lives in the space "text", like typed text, voice transcripts and OCR text, so a
model trained on typed text already understands documents; training with document rows
(`fusiondesk train` on JSONL whose `document` field names PDF files) adds the slot
`document_text` and lets the model weigh documents on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fusiondesk import (
    Encoding,
    InputTooLargeError,
    InvalidInputError,
    ModalityPlugin,
    Part,
    Payload,
    PluginConfig,
    SlotSpec,
    UnsupportedInputError,
)
from fusiondesk.plugins.text import TEXT_DIM, TEXT_SPACE
from fusiondesk.plugins.text.encoder import packaged_minilm_path, shared_sentence_encoder
from pydantic import Field

from fusiondesk_document.pdf import extract_text

DOCUMENT_SLOT = "document_text"
PDF_MEDIA_TYPES = frozenset({"application/pdf", "application/octet-stream"})
EXCERPT_CHARS = 160


class DocumentConfig(PluginConfig):
    """`FUSIONDESK_PLUGINS__DOCUMENT__<FIELD>`."""

    model_path: Path = Field(
        default_factory=packaged_minilm_path,
        description="Sentence encoder; the text plugin's by default, so both share one copy.",
    )
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="Largest PDF.")
    max_pages: int = Field(default=20, ge=1, description="Pages read; the rest are ignored.")
    max_chars: int = Field(default=4000, ge=1, description="Text kept for the embedding.")


class DocumentPlugin(ModalityPlugin):
    name = "document"
    modality = "document"
    part_types = ("document",)
    slots = (SlotSpec(DOCUMENT_SLOT, TEXT_DIM, space=TEXT_SPACE),)
    version = "1"
    # Payloads are short texts (extraction happens in preprocess), so batches are cheap.
    max_batch_size = 32
    max_wait_ms = 5.0
    Config = DocumentConfig
    config: DocumentConfig

    def setup(self) -> None:
        # The same in-process instance as the text plugin's when the paths match.
        self.encoder = shared_sentence_encoder(self.config.model_path, self.device)

    def preprocess(self, part: Part) -> Payload:
        # Text extraction runs here, in the API process: it refuses broken files with a 4xx
        # before any queueing, and only the (small) text crosses to the worker.
        if part.data is None:
            raise InvalidInputError(
                "A document part carries its PDF in 'data' (base64 in JSON, or a file field "
                "named 'document' in a form).",
                code="missing_document",
            )
        if part.media_type is not None and part.media_type not in PDF_MEDIA_TYPES:
            raise UnsupportedInputError(
                f"Documents must be PDFs, not {part.media_type}.", code="unsupported_media"
            )
        if len(part.data) > self.config.max_bytes:
            raise InputTooLargeError(
                f"The PDF has {len(part.data)} bytes; the limit is {self.config.max_bytes}.",
                code="document_too_large",
            )
        text, pages = extract_text(
            part.data, max_pages=self.config.max_pages, max_chars=self.config.max_chars
        )
        return {"text": text, "pages": pages}

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        vectors = self.encoder.encode([payload["text"] for payload in payloads])
        return [
            Encoding(
                slots={DOCUMENT_SLOT: vector},
                details={"pages": payload["pages"], "excerpt": payload["text"][:EXCERPT_CHARS]},
            )
            for payload, vector in zip(payloads, vectors, strict=True)
        ]
