"""Messages with attachments, made from labelled texts: a caption, a voice note, a screenshot.

Customers type a line and attach what says the rest: "see attached" and a screenshot of the
error, "I need help" and a voice note. A model learns to weigh such parts only from messages
like them, so each labelled text becomes one message: its voice note (espeak-ng) and its
screenshot (``ScreenshotRenderer``), captioned by the text itself on every other message and
by a vague line on the others. The rows are ``fusiondesk train`` JSONL rows, their media paths
relative to the JSONL file; media already on disk are kept, so a rerun costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fusiondesk.service.synth.screenshot import ScreenshotRenderer
from fusiondesk.service.synth.voice import Delivery, speak

VAGUE_CAPTIONS = (
    "hi",
    "I need help",
    "see attached",
    "this again?",
    "hello, can you help",
    "please look at this",
    "help",
    "what does this mean",
)
"""Lines that say a message has something attached and nothing of what it is about."""
MEDIA_DIR = "media"


def write_attachment_messages(
    samples: Sequence[tuple[str, str]],
    jsonl: Path,
    *,
    seed: int,
    captions: Sequence[str] = VAGUE_CAPTIONS,
) -> Path:
    """Write one message per ``(text, intent)`` to ``jsonl`` (media beside it); returns it."""
    media = jsonl.parent / MEDIA_DIR
    media.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    renderer = ScreenshotRenderer(seed=seed)
    rows = []
    for number, (text, intent) in enumerate(samples):
        delivery = Delivery.draw(rng)
        vague = str(rng.choice(list(captions)))
        audio, image = media / f"{number:05d}.wav", media / f"{number:05d}.png"
        if not audio.is_file():
            audio.write_bytes(speak(text, delivery, seed=seed + number))
        shot = renderer.render(text)  # drawn every time: the renderer's draws stay in step
        if not image.is_file():
            image.write_bytes(shot.data)
        caption = text if number % 2 == 0 else vague
        rows.append(
            {
                "text": caption,
                "audio": f"{MEDIA_DIR}/{audio.name}",
                "image": f"{MEDIA_DIR}/{image.name}",
                "intent": intent,
            }
        )
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return jsonl
