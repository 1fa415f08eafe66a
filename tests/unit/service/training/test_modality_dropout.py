"""Modality dropout hides whole parts and slots within a part, never everything."""

from __future__ import annotations

import numpy as np
import torch

from fusiondesk.service.training.modality_dropout import modality_dropout


def _dropped(parts: dict[str, str], rate: float, rows: int = 4000) -> dict[str, np.ndarray]:
    present = {name: torch.ones(rows, dtype=torch.bool) for name in parts}
    generator = torch.Generator().manual_seed(0)
    return {n: m.numpy() for n, m in modality_dropout(present, parts, rate, generator).items()}


def test_modality_dropout_hides_whole_parts_and_slots_within_them() -> None:
    parts = {
        "text": "text",
        "voice_transcript": "voice",
        "voice_acoustic": "voice",
        "image_text": "image",
        "image_visual": "image",
    }
    kept = _dropped(parts, 0.3)
    stacked = np.stack(list(kept.values()), axis=1)
    assert stacked.any(axis=1).all()  # every row keeps something
    voice = kept["voice_transcript"] | kept["voice_acoustic"]
    image = kept["image_text"] | kept["image_visual"]
    text_alone = kept["text"] & ~voice & ~image
    # Typed text alone is a common case to learn (0.7 * 0.3 * 0.3 = 6.3% of rows), not the
    # 0.6% that hiding five slots independently leaves.
    assert 0.04 < text_alone.mean() < 0.09
    # Within a kept part a slot may go missing (an image without OCR text), never both.
    assert (image & ~kept["image_text"]).any() and (image & ~kept["image_visual"]).any()


def test_modality_dropout_leaves_one_slot_of_a_single_part() -> None:
    kept = _dropped({"text": "text", "text_multilingual": "text"}, 0.3)
    assert (kept["text"] | kept["text_multilingual"]).all()
    multilingual_alone = kept["text_multilingual"] & ~kept["text"]
    assert 0.17 < multilingual_alone.mean() < 0.25  # 0.3 * 0.7
