"""Renders text intent examples as the screenshots customers send.

Four kinds of picture (a chat bubble, an error dialog, an e-mail, a receipt with a note), each in
varied fonts, sizes, colours and widths, with light sensor noise and, for most, JPEG artefacts.
The utterance is drawn word-wrapped inside a little on-screen chrome ("Support", "OK", ...), as
in a real screenshot, so the OCR slot can be trained and evaluated without collected data.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]

TEMPLATES = ("chat", "dialog", "email", "receipt")
MANIFEST = "screenshots.jsonl"
# Debian's fonts-dejavu-core, fonts-liberation and fonts-open-sans; missing ones are skipped.
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansCondensed.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSerif-Regular.ttf",
    "OpenSans-Regular.ttf",
)
MONO_FONT_FILES = ("DejaVuSansMono.ttf", "LiberationMono-Regular.ttf")
BOLD_FONT_FILES = ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "OpenSans-Bold.ttf")
ACCENTS: tuple[RGB, ...] = ((0, 122, 255), (37, 211, 102), (88, 86, 214), (220, 53, 69))
LIGHT = {"background": (250, 250, 250), "panel": (255, 255, 255), "ink": (20, 20, 20)}
DARK = {"background": (24, 24, 27), "panel": (44, 44, 48), "ink": (236, 236, 236)}
CHAT_TITLES = ("Support", "Help", "Customer care")
DIALOG_TITLES = ("Error", "Warning", "Notice")
EMAIL_SUBJECTS = ("Subject: Help", "Subject: Question", "Subject: Problem")


@dataclass(frozen=True)
class Screenshot:
    data: bytes
    extension: str
    template: str
    lines: list[str]
    """Every line of text drawn, top to bottom: the reference for OCR error rates."""


@functools.cache
def _available(files: tuple[str, ...]) -> tuple[str, ...]:
    usable = []
    for name in files:
        try:
            ImageFont.truetype(name, 12)
        except OSError:
            continue
        usable.append(name)
    return tuple(usable)


def _font(files: tuple[str, ...], size: int, rng: np.random.Generator) -> Font:
    usable = _available(files) or _available(FONT_FILES)
    if not usable:  # no TrueType font installed: Pillow's built-in one still renders text
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(rng.choice(usable)), size)


def wrap(text: str, font: Font, width: float) -> list[str]:
    """Greedy word wrap to a pixel width (a single over-long word gets a line of its own)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and font.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


class ScreenshotRenderer:
    """Deterministic for a seed: the same texts give the same pictures."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def render(self, text: str, template: str | None = None) -> Screenshot:
        template = template or str(self.rng.choice(TEMPLATES))
        draw_template = {
            "chat": self._chat,
            "dialog": self._dialog,
            "email": self._email,
            "receipt": self._receipt,
        }[template]
        image, lines = draw_template(" ".join(text.split()))
        data, extension = self._finish(image)
        return Screenshot(data, extension, template, lines)

    # -- the four kinds of picture -------------------------------------------------------------
    def _chat(self, text: str) -> tuple[Image.Image, list[str]]:
        rng, theme, accent = self.rng, self._theme(), self._accent()
        size = int(rng.integers(17, 25))
        font, bold = _font(FONT_FILES, size, rng), _font(BOLD_FONT_FILES, size + 2, rng)
        width = int(rng.integers(420, 640))
        title = str(rng.choice(CHAT_TITLES))
        body = wrap(text, font, width * 0.68)
        line_height = int(size * 1.35)
        height = 90 + len(body) * line_height + 70
        image = Image.new("RGB", (width, height), theme["background"])
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width, 56), fill=accent)
        draw.text((20, 28), title, font=bold, fill=(255, 255, 255), anchor="lm")
        bubble_width = max(font.getlength(line) for line in body) + 32
        left, top = width - bubble_width - 16, 80
        bottom = top + len(body) * line_height + 20
        draw.rounded_rectangle((left, top, width - 16, bottom), radius=18, fill=accent)
        for row, line in enumerate(body):
            draw.text((left + 16, top + 10 + row * line_height), line, font=font, fill="white")
        return image, [title, *body]

    def _dialog(self, text: str) -> tuple[Image.Image, list[str]]:
        rng, theme, accent = self.rng, self._theme(), self._accent()
        size = int(rng.integers(16, 23))
        font, bold = _font(FONT_FILES, size, rng), _font(BOLD_FONT_FILES, size + 1, rng)
        width = int(rng.integers(480, 760))
        title = str(rng.choice(DIALOG_TITLES))
        body = wrap(text, font, width - 160)
        line_height = int(size * 1.4)
        height = 150 + len(body) * line_height + 70
        image = Image.new("RGB", (width, height), theme["background"])
        draw = ImageDraw.Draw(image)
        draw.rectangle((20, 20, width - 20, height - 20), fill=theme["panel"], outline=(150,) * 3)
        draw.rectangle((20, 20, width - 20, 60), fill=accent)
        draw.text((36, 40), title, font=bold, fill="white", anchor="lm")
        draw.ellipse((44, 90, 84, 130), fill=accent)
        draw.text((64, 110), "!", font=bold, fill="white", anchor="mm")
        for row, line in enumerate(body):
            draw.text((110, 90 + row * line_height), line, font=font, fill=theme["ink"])
        button_top = height - 80
        draw.rounded_rectangle((width - 150, button_top, width - 40, button_top + 40), 8, accent)
        draw.text((width - 95, button_top + 20), "OK", font=bold, fill="white", anchor="mm")
        return image, [title, *body, "OK"]

    def _email(self, text: str) -> tuple[Image.Image, list[str]]:
        rng, theme = self.rng, self._theme()
        size = int(rng.integers(16, 22))
        font = _font(FONT_FILES, size, rng)
        bold = _font(BOLD_FONT_FILES, size, rng)
        width = int(rng.integers(560, 820))
        subject = str(rng.choice(EMAIL_SUBJECTS))
        body = wrap(text, font, width - 80)
        line_height = int(size * 1.45)
        height = 130 + len(body) * line_height + 40
        image = Image.new("RGB", (width, height), theme["panel"])
        draw = ImageDraw.Draw(image)
        draw.text((40, 30), subject, font=bold, fill=theme["ink"])
        draw.line((40, 80, width - 40, 80), fill=(170,) * 3, width=1)
        for row, line in enumerate(body):
            draw.text((40, 100 + row * line_height), line, font=font, fill=theme["ink"])
        return image, [subject, *body]

    def _receipt(self, text: str) -> tuple[Image.Image, list[str]]:
        rng = self.rng
        size = int(rng.integers(16, 21))
        font = _font(MONO_FONT_FILES, size, rng)
        width = int(rng.integers(420, 560))
        total = f"TOTAL {rng.integers(5, 400)}.{rng.integers(0, 100):02d}"
        body = wrap(f"Note: {text}", font, width - 60)
        line_height = int(size * 1.4)
        height = 60 + (len(body) + 3) * line_height + 40
        paper = (int(rng.integers(236, 256)), int(rng.integers(232, 250)), 225)
        image = Image.new("RGB", (width, height), paper)
        draw = ImageDraw.Draw(image)
        lines = ["RECEIPT", total, *body]
        for row, line in enumerate(lines):
            y = 40 + row * line_height + (line_height if row >= 2 else 0)
            draw.text((30, y), line, font=font, fill=(30, 30, 30))
        return image, lines

    # -- look and feel -------------------------------------------------------------------------
    def _theme(self) -> dict[str, RGB]:
        return DARK if self.rng.random() < 0.25 else LIGHT

    def _accent(self) -> RGB:
        return ACCENTS[int(self.rng.integers(len(ACCENTS)))]

    def _finish(self, image: Image.Image) -> tuple[bytes, str]:
        """Light sensor noise, sometimes a soft blur, then JPEG artefacts or a PNG."""
        rng = self.rng
        if rng.random() < 0.3:
            image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 0.7))))
        pixels = np.asarray(image, dtype=np.float32)
        pixels += rng.normal(0.0, float(rng.uniform(0.0, 4.0)), pixels.shape)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        buffer = io.BytesIO()
        if rng.random() < 0.6:
            image.save(buffer, format="JPEG", quality=int(rng.integers(55, 92)))
            return buffer.getvalue(), "jpg"
        image.save(buffer, format="PNG")
        return buffer.getvalue(), "png"


def write_screenshots(
    rows: Iterable[tuple[str, str]], out_dir: Path, *, seed: int = 0, with_text: bool = False
) -> Path:
    """Render ``(text, intent)`` rows into ``out_dir``; returns the JSONL manifest's path.

    Manifest rows are ``{"image": "00000.jpg", "intent": ...}``, plus the typed ``text`` with
    ``with_text`` (text and image together), readable by ``fusiondesk train``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    renderer = ScreenshotRenderer(seed)
    manifest = out_dir / MANIFEST
    with manifest.open("w", encoding="utf-8") as handle:
        for number, (text, intent) in enumerate(rows):
            shot = renderer.render(text)
            name = f"{number:05d}.{shot.extension}"
            (out_dir / name).write_bytes(shot.data)
            row = {"image": name, "intent": intent} | ({"text": text} if with_text else {})
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return manifest
