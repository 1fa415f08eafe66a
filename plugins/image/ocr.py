"""What an image says: PP-OCR text detection and recognition through RapidOCR (ONNX Runtime).

OCR is the expensive half of the image plugin, so it is done in two bounded steps: the detector
finds text regions on a page whose long side is capped, and the recogniser only runs when there
are regions, on at most ``max_regions`` of them (in reading order) whose summed length stays
within ``max_line_heights``, for a whole batch at once. The recogniser scales every line to one
height, so its cost grows with the lines' lengths: a 48-line screenshot once took 36 s.
The direction classifier is skipped: customers' screenshots and photos of receipts are upright.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from fusiondesk.plugins.image.spacing import restore_spaces

Box = tuple[int, int, int, int]
"""A text region's bounding box on the OCR page: left, top, right, bottom (pixels)."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    confidence: float
    box: Box


@dataclass
class OcrResult:
    """Recognised lines of one image, top to bottom, and how much of it was read."""

    lines: list[OcrLine] = field(default_factory=list)
    regions: int = 0
    """Text regions the detector found (lines beyond ``max_regions`` are not read)."""
    min_confidence: float = 0.0

    @property
    def confident_lines(self) -> list[OcrLine]:
        """The lines read well enough to be trusted; the others are only shown."""
        return [line for line in self.lines if line.confidence >= self.min_confidence]

    @property
    def text(self) -> str:
        """Everything read with confidence, joined, with dropped spaces restored."""
        return restore_spaces(" ".join(line.text for line in self.confident_lines))

    def details(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "lines": [
                {"text": line.text, "confidence": round(line.confidence, 4)} for line in self.lines
            ],
            "regions": self.regions,
            "truncated": self.regions > len(self.lines),
        }


def encode_page(image: Image.Image, max_side: int) -> bytes:
    """The page OCR reads: long side capped, losslessly PNG-encoded for the worker boundary."""
    width, height = image.size
    scale = max_side / max(width, height)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    # Level 1: nearly as small as the default on screenshots, several times faster.
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class OcrEngine:
    def __init__(self, *, max_regions: int, min_confidence: float, max_line_heights: float) -> None:
        from rapidocr_onnxruntime import RapidOCR

        # "max" limit: the detector never upscales; pages arrive already capped.
        self._engine = RapidOCR(det_limit_type="max", print_verbose=False)
        self.max_regions = max_regions
        self.max_line_heights = max_line_heights
        self.min_confidence = min_confidence
        self._lock = threading.Lock()

    def read(self, pages: list[bytes]) -> list[OcrResult]:
        """OCR a batch of PNG pages; one recogniser pass over every page's regions."""
        results: list[OcrResult] = []
        crops: list[np.ndarray] = []
        owners: list[tuple[int, Box]] = []  # each crop's page and where it is on the page
        with self._lock:
            for index, page in enumerate(pages):
                rgb = np.asarray(Image.open(io.BytesIO(page)).convert("RGB"))
                bgr = np.ascontiguousarray(rgb[:, :, ::-1])
                boxes, _ = self._engine.text_det(bgr)
                found = 0 if boxes is None else len(boxes)
                results.append(OcrResult(regions=found, min_confidence=self.min_confidence))
                if found:
                    ordered = self._engine.sorted_boxes(boxes)[: self.max_regions]
                    read = within_length(
                        self._engine.get_crop_img_list(bgr, ordered), self.max_line_heights
                    )
                    crops.extend(read)
                    owners.extend((index, _bounds(box)) for box in ordered[: len(read)])
            if not crops:
                return results
            recognised, _ = self._engine.text_rec(crops)
        for (owner, box), (text, score) in zip(owners, recognised, strict=True):
            if text.strip():
                results[owner].lines.append(OcrLine(text.strip(), float(score), box))
        return results


def within_length(crops: list[np.ndarray], max_line_heights: float) -> list[np.ndarray]:
    """The first crops (in reading order) whose summed width, in units of their own height,
    stays within ``max_line_heights``; always the first one."""
    kept: list[np.ndarray] = []
    total = 0.0
    for crop in crops:
        height, width = crop.shape[:2]
        total += width / max(height, 1)
        if kept and total > max_line_heights:
            break
        kept.append(crop)
    return kept


def _bounds(quad: np.ndarray) -> Box:
    """The axis-aligned bounds of a detected quadrilateral (4 corner points)."""
    xs, ys = quad[:, 0], quad[:, 1]
    return (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))
