"""Customer messages of every kind for the fault benchmarks, made once up front.

Voice clips are spoken by espeak-ng and screenshots drawn by ``fusiondesk.service.synth``, so a
benchmark measures the real plugins on inputs like the ones customers send.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from fusiondesk.plugins import Part
from fusiondesk.service.synth.screenshot import ScreenshotRenderer
from fusiondesk.service.synth.voice import espeak_available, speak

PHRASES = [
    "where is my parcel",
    "my card was stolen",
    "I want my money back for this order",
    "how do I reset my password",
    "can I talk to a human please",
    "why was I charged twice this month",
]
KINDS = ("text", "voice", "screenshot")


@dataclass(frozen=True)
class Sample:
    kind: str
    part: Part

    def as_json(self) -> dict[str, Any]:
        """The part as ``POST /v1/messages`` and the WebSocket take it."""
        if self.part.type == "text":
            return {"type": "text", "text": self.part.text}
        assert self.part.data is not None
        return {
            "type": self.part.type,
            "data": base64.b64encode(self.part.data).decode(),
            "media_type": self.part.media_type,
        }


def make_samples(per_kind: int = 6) -> dict[str, list[Sample]]:
    """``per_kind`` messages of each kind (voice only when espeak-ng is installed)."""
    phrases = [PHRASES[i % len(PHRASES)] for i in range(per_kind)]
    renderer = ScreenshotRenderer(seed=7)
    samples = {
        "text": [Sample("text", Part("text", text=phrase)) for phrase in phrases],
        "screenshot": [],
        "voice": [],
    }
    for phrase in phrases:
        shot = renderer.render(phrase)
        media_type = "image/jpeg" if shot.extension == "jpg" else "image/png"
        samples["screenshot"].append(
            Sample("screenshot", Part("image", data=shot.data, media_type=media_type))
        )
        if espeak_available():
            samples["voice"].append(
                Sample("voice", Part("audio", data=speak(phrase), media_type="audio/wav"))
            )
    return {kind: items for kind, items in samples.items() if items}
