"""The compiled (ONNX Runtime) forward gives the torch forward's probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusiondesk.service.understanding.fusion import (
    FusionConfig,
    FusionModel,
    IntentClassifier,
    SlotConfig,
)
from fusiondesk.service.understanding.fusion.strategies import STRATEGIES, Strategy


def _classifier(strategy: Strategy, members: int) -> IntentClassifier:
    torch.manual_seed(0)
    config = FusionConfig(
        intents=["a", "b", "c", "d"],
        slots=[SlotConfig(name="text", dim=6, space="text"), SlotConfig(name="image", dim=4)],
        hidden_dim=16,
        strategy=strategy,
        members=members,
    )
    return IntentClassifier(FusionModel(config))


def _messages() -> list[dict[str, np.ndarray]]:
    """Every combination of present slots, the empty message included."""
    rng = np.random.default_rng(3)
    text, image = rng.standard_normal(6, np.float32), rng.standard_normal(4, np.float32)
    return [{"text": text, "image": image}, {"text": text}, {"image": image}, {}]


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("members", [1, 3])
def test_the_compiled_forward_matches_torch(strategy: Strategy, members: int) -> None:
    classifier = _classifier(strategy, members)
    batches = [_messages(), _messages()[:1], _messages() * 20]
    expected = [classifier.probabilities(batch) for batch in batches]
    assert classifier.compile().compiled
    for batch, probabilities in zip(batches, expected, strict=True):
        np.testing.assert_allclose(classifier.probabilities(batch), probabilities, atol=1e-5)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_int8_forward_is_quantised_and_stays_close_to_torch(strategy: Strategy) -> None:
    classifier = _classifier(strategy, 1)
    batch = _messages() * 5
    expected = classifier.probabilities(batch)
    served = classifier.compile(int8=True).probabilities(batch)
    assert not np.allclose(served, expected, atol=1e-6)  # the weights did change
    np.testing.assert_allclose(served, expected, atol=0.05)
    assert (served.argmax(1) == expected.argmax(1)).mean() >= 0.9
