from __future__ import annotations

import numpy as np
import pytest

from fusiondesk.plugins import SlotSpec
from fusiondesk.service.errors import DatasetError
from fusiondesk.service.training.features import Features


def _features() -> Features:
    specs = {
        "text": SlotSpec("text", 2, space="text"),
        "voice_transcript": SlotSpec("voice_transcript", 2, space="text"),
        "voice_acoustic": SlotSpec("voice_acoustic", 3, space="whisper_tiny"),
    }
    values = {name: np.ones((2, spec.dim), dtype=np.float32) for name, spec in specs.items()}
    present = {name: np.array([True, name != "text"]) for name in specs}
    parts = {"text": "text", "voice_transcript": "voice", "voice_acoustic": "voice"}
    return Features(values, present, specs, parts)


def test_training_on_some_slots_drops_the_others_with_their_parts() -> None:
    features = _features()
    kept = features.only(["text", "voice_transcript"])
    assert sorted(kept.specs) == sorted(kept.values) == ["text", "voice_transcript"]
    assert kept.parts == {"text": "text", "voice_transcript": "voice"}
    assert len(kept) == 2 and kept.present["voice_transcript"].all()
    assert features.only(None) is features


def test_training_on_slots_the_data_lacks_is_refused() -> None:
    with pytest.raises(DatasetError, match="none of the slots"):
        _features().only(["image_text"])
