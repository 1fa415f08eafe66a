"""The SDK's fakes under the name the unit tests import them by, and test data makers."""

from __future__ import annotations

import numpy as np

from fusiondesk.plugins import SlotSpec
from fusiondesk.plugins.testing.fakes import (
    FakeCaptionPlugin,
    FakeSentenceEncoder,
    FakeTextPlugin,
    hashed_vector,
)
from fusiondesk.service.training.features import Features

__all__ = [
    "FakeCaptionPlugin",
    "FakeSentenceEncoder",
    "FakeTextPlugin",
    "gaussian_blobs",
    "hashed_vector",
]


def gaussian_blobs(
    n_per_class: int = 60, classes: int = 4, seed: int = 0
) -> tuple[Features, list[str]]:
    """Well-separated gaussian clusters in a 'text' slot, plus a noisy 'image' slot."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, 16)) * 3
    rows = np.repeat(np.arange(classes), n_per_class)
    text = (centres[rows] + rng.standard_normal((len(rows), 16))).astype(np.float32)
    image = rng.standard_normal((len(rows), 8)).astype(np.float32)
    features = Features(
        values={"text": text, "image": image},
        present={"text": np.ones(len(rows), bool), "image": rng.random(len(rows)) < 0.5},
        specs={"text": SlotSpec("text", 16, "text"), "image": SlotSpec("image", 8)},
    )
    return features, [f"intent_{r}" for r in rows]
