"""Built-in image plugin: what a picture looks like (``image_visual``) and what it says
(``image_text``, OCR text embedded in the shared text space).

``preprocess`` (API process) sniffs and checks the bytes, decodes them once and hands the
encoder two small, serialisable things: the 224x224 RGB crop for EfficientNet and, when OCR is
on, a PNG page with its long side capped. ``encode`` (inline or in a worker) runs the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from fusiondesk.plugins.base import Encoding, ModalityPlugin, Part, Payload, PluginConfig, SlotSpec
from fusiondesk.plugins.image.decode import ImageLimits, decode_image
from fusiondesk.plugins.image.ocr import OcrEngine, encode_page
from fusiondesk.plugins.image.reading import message_text
from fusiondesk.plugins.image.visual import (
    FEATURE_DIM,
    RESIZE_SIZE,
    VisualEncoder,
    center_crop,
    packaged_weights_path,
)
from fusiondesk.plugins.text import TEXT_DIM, TEXT_SPACE, text_slot
from fusiondesk.plugins.text.encoder import packaged_minilm_path, shared_sentence_encoder


class ImageConfig(PluginConfig):
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="Largest image file.")
    max_pixels: int = Field(
        default=40_000_000, ge=1, description="Most pixels (width x height), read from the header."
    )
    max_aspect_ratio: float = Field(
        default=20.0, ge=1.0, description="Longest side over shortest; refuses 1x50000 strips."
    )
    ocr_enabled: bool = Field(default=True, description="Read the text in images.")
    ocr_max_side: int = Field(
        default=1280, ge=64, description="OCR reads the image with its long side capped to this."
    )
    ocr_max_regions: int = Field(
        default=32, ge=1, description="Most text regions (lines) recognised per image."
    )
    ocr_max_line_heights: float = Field(
        default=320.0,
        gt=0,
        description="Most text read per image, as the summed length of its lines in line "
        "heights (about 2 characters each): the recogniser's cost grows with it.",
    )
    ocr_min_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="OCR lines below this are shown but not embedded."
    )
    weights_path: Path = Field(default_factory=packaged_weights_path)
    text_model_path: Path = Field(
        default_factory=packaged_minilm_path,
        description="Encoder for OCR text; keep it the text plugin's so the spaces match.",
    )


class ImagePlugin(ModalityPlugin):
    name = "image"
    modality = "image"
    part_types = ("image",)
    slots = (
        SlotSpec("image_visual", FEATURE_DIM, space="image_visual"),
        SlotSpec("image_text", TEXT_DIM, space=TEXT_SPACE),
    )
    max_batch_size = 16
    max_wait_ms = 10.0
    Config = ImageConfig
    config: ImageConfig

    def __init__(self, config: PluginConfig | None = None, *, device: str = "cpu") -> None:
        super().__init__(config, device=device)
        # OCR text lives in the text encoder's space: as wide as that encoder embeds.
        self.slots = (self.slots[0], text_slot("image_text", self.config.text_model_path))

    def setup(self) -> None:
        self.visual = VisualEncoder(self.config.weights_path, device=self.device)
        if self.config.ocr_enabled:
            self.ocr = OcrEngine(
                max_regions=self.config.ocr_max_regions,
                max_line_heights=self.config.ocr_max_line_heights,
                min_confidence=self.config.ocr_min_confidence,
            )
            self.text_encoder = shared_sentence_encoder(self.config.text_model_path, self.device)

    def preprocess(self, part: Part) -> Payload:
        config = self.config
        limits = ImageLimits(config.max_bytes, config.max_pixels, config.max_aspect_ratio)
        decoded = decode_image(
            part.data,
            limits,
            long_side=config.ocr_max_side if config.ocr_enabled else 0,
            short_side=RESIZE_SIZE,
        )
        return {
            "crop": center_crop(decoded.image),
            "page": encode_page(decoded.image, config.ocr_max_side) if config.ocr_enabled else None,
            "format": decoded.format,
            "width": decoded.width,
            "height": decoded.height,
        }

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        visual = self.visual.encode([payload["crop"] for payload in payloads])
        encodings = [
            Encoding(
                slots={"image_visual": vector},
                details={key: payload[key] for key in ("format", "width", "height")},
            )
            for payload, vector in zip(payloads, visual, strict=True)
        ]
        pages = {i: payload["page"] for i, payload in enumerate(payloads) if payload["page"]}
        if not pages or not self.config.ocr_enabled:
            return encodings
        results = dict(zip(pages, self.ocr.read(list(pages.values())), strict=True))
        # The slot embeds the message without the on-screen chrome; details keep the whole read.
        messages = {index: message_text(result) for index, result in results.items()}
        for index, result in results.items():
            encodings[index].details["ocr"] = result.details() | {"message": messages[index]}
        worded = [index for index, message in messages.items() if message]
        vectors = self.text_encoder.encode([messages[index] for index in worded])
        for index, vector in zip(worded, vectors, strict=True):
            encodings[index].slots["image_text"] = vector
        return encodings


__all__ = ["ImageConfig", "ImagePlugin"]
