"""Every fusion strategy: learns, ignores masked slots, survives a save/load round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fusiondesk.service.training import TrainingOptions
from fusiondesk.service.training.trainer import train_model
from fusiondesk.service.understanding.fusion import (
    FusionConfig,
    FusionModel,
    IntentClassifier,
    SlotConfig,
)
from fusiondesk.service.understanding.fusion.strategies import STRATEGIES, Strategy
from tests.unit.fakes import gaussian_blobs

SLOTS = [
    SlotConfig(name="text", dim=6, space="text"),
    SlotConfig(name="speech", dim=5, space="text"),
    SlotConfig(name="image", dim=4),
]


def _model(strategy: Strategy) -> FusionModel:
    torch.manual_seed(0)
    config = FusionConfig(intents=["a", "b", "c"], slots=SLOTS, strategy=strategy, hidden_dim=16)
    return FusionModel(config).eval()


def _inputs(batch: int = 6) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    values = {slot.name: torch.randn(batch, slot.dim, generator=generator) for slot in SLOTS}
    present = {slot.name: torch.ones(batch, dtype=torch.bool) for slot in SLOTS}
    return values, present


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_beats_chance_by_a_wide_margin(strategy: Strategy) -> None:
    features, labels = gaussian_blobs(n_per_class=40, classes=5)
    options = TrainingOptions(
        epochs=25, hidden_dim=32, batch_size=32, patience=5, strategy=strategy
    )
    result = train_model(features, labels, options, progress=False)
    assert result.model.config.strategy == strategy
    assert result.metrics["val_accuracy"] >= 0.85  # chance is 0.2
    held_out, gold = gaussian_blobs(n_per_class=20, classes=5)  # same centres, fresh noise
    predictions = IntentClassifier(result.model).predict(held_out.as_slot_dicts())
    assert np.mean([p.intent == g for p, g in zip(predictions, gold, strict=True)]) >= 0.85


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("masked", ["text", "speech", "image"])
def test_masked_slot_values_cannot_change_the_output(strategy: Strategy, masked: str) -> None:
    model = _model(strategy)
    values, present = _inputs()
    present[masked][::2] = False  # masked in some rows only: rows must not leak into each other
    before = model(values, present)
    values[masked] = torch.randn_like(values[masked]) * 1000
    values[masked][0] = float("nan")
    after = model(values, present)
    assert torch.equal(before[::2], after[::2])
    assert not torch.allclose(before[1::2], after[1::2])  # where present, it does count


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rows_with_a_single_slot_still_work(strategy: Strategy) -> None:
    model = _model(strategy)
    values, present = _inputs()
    for name in ("speech", "image"):
        present[name][:] = False
    assert torch.isfinite(model(values, present)).all()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_save_load_round_trip_gives_identical_logits(strategy: Strategy, tmp_path: Path) -> None:
    model = _model(strategy)
    values, present = _inputs()
    present["image"][1] = False
    model.save(tmp_path)
    loaded = FusionModel.load(tmp_path)
    assert loaded.config == model.config
    assert torch.equal(model(values, present), loaded(values, present))


def test_text_only_input_loses_little_against_a_text_only_model() -> None:
    """The missing-modality mechanism: a model trained on text + two more slots, with slot
    dropout, asked with text alone, is about as good as one trained on text alone."""
    features, labels = gaussian_blobs(n_per_class=50, classes=5, seed=2)
    # A speech slot carrying the same signal (like a transcript) and an uninformative image.
    features.values["speech"] = features.values["text"] + np.random.default_rng(5).normal(
        0, 1.0, features.values["text"].shape
    ).astype(np.float32)
    features.present["speech"] = np.ones(len(labels), bool)
    features.specs["speech"] = features.specs["text"].__class__("speech", 16, "speech")
    options = TrainingOptions(epochs=25, hidden_dim=32, batch_size=32, patience=5)
    fused = IntentClassifier(train_model(features, labels, options, progress=False).model)
    text_only_features = features.rows(np.arange(len(labels)))
    for name in ("speech", "image"):
        del text_only_features.values[name], text_only_features.present[name]
        del text_only_features.specs[name]
    alone = IntentClassifier(train_model(text_only_features, labels, options, progress=False).model)
    test, gold = gaussian_blobs(n_per_class=30, classes=5, seed=2)
    text_rows = [{"text": row["text"]} for row in test.as_slot_dicts()]

    def accuracy(classifier: IntentClassifier) -> float:
        predictions = classifier.predict(text_rows)
        return float(np.mean([p.intent == g for p, g in zip(predictions, gold, strict=True)]))

    assert accuracy(fused) >= accuracy(alone) - 0.02
