"""Stand-in voice and image plugins for the chat tests, until real ones are installed.

They follow the real plugins' contract: the voice plugin reports ``transcript`` and
``language`` in its details and the image plugin ``ocr``, and both embed that text with the
shared text encoder into the "text" space, so the demo model (trained on typed text) reads
them. The "recording" is a WAV header followed by the spoken sentence in UTF-8, the "photo"
a PNG signature followed by the text it shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from fusiondesk.plugins import (
    Encoding,
    ModalityPlugin,
    Part,
    Payload,
    SlotSpec,
    UnsupportedInputError,
)
from fusiondesk.plugins.text import TEXT_DIM, TEXT_SPACE
from fusiondesk.plugins.text.encoder import packaged_minilm_path, shared_sentence_encoder

WAV_HEADER = b"RIFF\x00\x00\x00\x00WAVE"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fake_recording(sentence: str) -> bytes:
    return WAV_HEADER + sentence.encode()


def fake_photo(sentence: str) -> bytes:
    return PNG_SIGNATURE + sentence.encode()


class _EmbedsText(ModalityPlugin):
    media_prefix: str
    header: bytes

    def setup(self) -> None:
        self.encoder = shared_sentence_encoder(packaged_minilm_path(), self.device)

    def preprocess(self, part: Part) -> Payload:
        data = part.data or b""
        if not (part.media_type or "").startswith(self.media_prefix) or not data.startswith(
            self.header
        ):
            raise UnsupportedInputError(f"Expected {self.media_prefix}* data.")
        return {"text": data[len(self.header) :].decode()}

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        texts = [payload["text"] for payload in payloads]
        vectors = self.encoder.encode(texts)
        slot = self.slots[0].name
        return [
            Encoding({slot: vector}, self._details(text))
            for text, vector in zip(texts, vectors, strict=True)
        ]

    def _details(self, text: str) -> dict[str, object]:
        raise NotImplementedError


class FakeVoicePlugin(_EmbedsText):
    name = "fake_voice"
    modality = "voice"
    part_types = ("audio",)
    slots = (SlotSpec("voice_text", TEXT_DIM, space=TEXT_SPACE),)
    media_prefix, header = "audio/", WAV_HEADER

    def _details(self, text: str) -> dict[str, object]:
        return {"transcript": text, "language": "en"}


class FakeImagePlugin(_EmbedsText):
    name = "fake_image"
    modality = "image"
    part_types = ("image",)
    slots = (SlotSpec("ocr_text", TEXT_DIM, space=TEXT_SPACE),)
    media_prefix, header = "image/", PNG_SIGNATURE

    def _details(self, text: str) -> dict[str, object]:
        return {"ocr": text}
