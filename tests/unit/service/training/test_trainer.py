"""The training loop: accuracy, reproducibility, ensembles, outliers, early-stopping views."""

from __future__ import annotations

import numpy as np
import torch

from fusiondesk.service.training.features import Features
from fusiondesk.service.training.options import TrainingOptions
from fusiondesk.service.training.trainer import _validate, train_model
from fusiondesk.service.understanding.fusion import IntentClassifier
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


def test_calibration_lowers_expected_calibration_error() -> None:
    features, labels = gaussian_blobs(n_per_class=80)
    # Heavy label noise makes an uncalibrated model overconfident.
    rng = np.random.default_rng(3)
    noisy = [f"intent_{rng.integers(4)}" if rng.random() < 0.3 else label for label in labels]
    result = train_model(features, noisy, FAST, progress=False)
    assert result.metrics["val_ece"] < result.metrics["val_ece_before_calibration"]


def test_ensemble_members_train_and_vote() -> None:
    features, labels = gaussian_blobs()
    options = FAST.model_copy(update={"members": 3})
    model = train_model(features, labels, options, progress=False).model
    assert len(model.members) == 3 and model.config.members == 3
    predictions = IntentClassifier(model).predict(features.as_slot_dicts())
    accuracy = np.mean([p.intent == gold for p, gold in zip(predictions, labels, strict=True)])
    assert accuracy >= 0.9


def _blobs_with_few_outliers() -> tuple[Features, list[str], np.ndarray]:
    features, labels = gaussian_blobs(n_per_class=60)
    rng = np.random.default_rng(5)
    far = (rng.standard_normal((8, 16)) * 12).astype(np.float32)
    text = np.concatenate([features.values["text"], far])
    rows = len(text)
    outliers = Features(
        values={"text": text},
        present={"text": np.ones(rows, bool)},
        specs={"text": features.specs["text"]},
    )
    return outliers, [*labels, *["out_of_scope"] * 8], features.values["text"]


def test_synthetic_outliers_teach_the_space_between_intents() -> None:
    features, labels, in_scope = _blobs_with_few_outliers()
    centres = np.stack([in_scope[i * 60 : (i + 1) * 60].mean(axis=0) for i in range(4)])
    between = [{"text": (centres[i] + centres[j]) / 2} for i in range(4) for j in range(i + 1, 4)]

    def oos_probability(rate: float, points: list[dict[str, np.ndarray]]) -> float:
        options = FAST.model_copy(update={"synthetic_outliers": rate})
        model = train_model(features, labels, options, progress=False).model
        classifier = IntentClassifier(model)
        column = classifier.intents.index("out_of_scope")
        return float(classifier.probabilities(points)[:, column].mean())

    assert oos_probability(0.5, between) > oos_probability(0.0, between) + 0.5
    # ...while the intents themselves stay in scope.
    assert oos_probability(0.5, [{"text": centre} for centre in centres]) < 0.1


def test_validation_scores_each_part_alone_too() -> None:
    features, labels = gaussian_blobs()  # 'text' separates the intents, 'image' is noise
    model = train_model(features, labels, FAST, progress=False).model
    intents = sorted(set(labels))
    y = torch.tensor([intents.index(label) for label in labels])
    values = {n: torch.from_numpy(v) for n, v in features.values.items()}
    present = {n: torch.from_numpy(m) for n, m in features.present.items()}
    rows = np.arange(len(labels))
    _, one_part = _validate(model, values, present, {"text": "t", "image": "t"}, y, rows)
    _, per_part = _validate(model, values, present, {"text": "t", "image": "i"}, y, rows)
    assert one_part >= 0.9  # whole rows only
    # Whole rows, text alone (both right) and the noise image alone (chance) averaged.
    assert 0.6 < per_part < 0.85
