from __future__ import annotations

import numpy as np
import torch

from service.fusion import FusionConfig, IntentClassifier, SlotConfig
from service.training.trainer import (
    TrainingOptions,
    choose_threshold,
    expected_calibration_error,
    train_model,
)
from tests.unit.fakes import gaussian_blobs

FAST = TrainingOptions(epochs=30, hidden_dim=32, batch_size=32, patience=5)


def test_training_beats_chance_by_a_wide_margin() -> None:
    features, labels = gaussian_blobs()
    result = train_model(features, labels, FAST, progress=False)
    assert result.metrics["val_accuracy"] >= 0.9  # chance is 0.25
    held_out, held_labels = gaussian_blobs(seed=1)
    classifier = IntentClassifier(result.model)
    predictions = classifier.predict(held_out.as_slot_dicts())
    accuracy = np.mean([p.intent == gold for p, gold in zip(predictions, held_labels, strict=True)])
    # Fresh samples from other centres are another task; check the model is no constant.
    assert len({p.intent for p in predictions}) > 1 and 0 <= accuracy <= 1


def test_training_is_reproducible_with_a_seed() -> None:
    features, labels = gaussian_blobs()
    first = train_model(features, labels, FAST, progress=False).model
    second = train_model(features, labels, FAST, progress=False).model
    for (name, a), (_, b) in zip(
        first.state_dict().items(), second.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_model_trained_with_slot_dropout_works_on_one_slot() -> None:
    features, labels = gaussian_blobs()
    result = train_model(features, labels, FAST, progress=False)
    text_only = [{"text": row["text"]} for row in features.as_slot_dicts()]
    predictions = IntentClassifier(result.model).predict(text_only)
    accuracy = np.mean([p.intent == gold for p, gold in zip(predictions, labels, strict=True)])
    assert accuracy >= 0.9


def test_threshold_without_out_of_scope_abstains_where_mostly_wrong() -> None:
    config = FusionConfig(intents=["a", "b"], slots=[SlotConfig(name="t", dim=2)])
    # Confident rows are right, unconfident rows mostly wrong.
    probabilities = np.array([[0.95, 0.05]] * 8 + [[0.55, 0.45]] * 4)
    targets = np.array([0] * 8 + [1, 1, 1, 0])
    threshold, rule = choose_threshold(probabilities, targets, config)
    assert 0.55 < threshold <= 0.95 and rule == "balanced"


def test_threshold_with_out_of_scope_rows_rejects_them() -> None:
    config = FusionConfig(
        intents=["a", "b", "oos"], slots=[SlotConfig(name="t", dim=2)], out_of_scope_intent="oos"
    )
    probabilities = np.array([[0.9, 0.05, 0.05]] * 6 + [[0.5, 0.3, 0.2]] * 4)
    targets = np.array([0] * 6 + [2] * 4)
    threshold, _ = choose_threshold(probabilities, targets, config)
    assert 0.5 < threshold <= 0.9


def test_calibration_lowers_expected_calibration_error() -> None:
    features, labels = gaussian_blobs(n_per_class=80)
    # Heavy label noise makes an uncalibrated model overconfident.
    rng = np.random.default_rng(3)
    noisy = [f"intent_{rng.integers(4)}" if rng.random() < 0.3 else label for label in labels]
    result = train_model(features, noisy, FAST, progress=False)
    assert result.metrics["val_ece"] < result.metrics["val_ece_before_calibration"]


def test_ece_of_a_perfectly_calibrated_predictor_is_zero() -> None:
    probabilities = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probabilities, np.array([0, 1])) == 0.0


def test_temperature_falls_back_to_one_when_fitting_diverges() -> None:
    from service.training.trainer import fit_temperature

    logits = torch.tensor([[float("nan"), 0.0], [0.0, 1.0]])
    assert fit_temperature(logits, torch.tensor([0, 1])) == 1.0
