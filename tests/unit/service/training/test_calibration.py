"""Calibration on validation rows: temperature, out-of-scope threshold, ECE."""

from __future__ import annotations

import numpy as np
import torch

from fusiondesk.service.training.calibration import (
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
)
from fusiondesk.service.understanding.fusion import FusionConfig, SlotConfig


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


def test_ece_of_a_perfectly_calibrated_predictor_is_zero() -> None:
    probabilities = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probabilities, np.array([0, 1])) == 0.0


def test_temperature_falls_back_to_one_when_fitting_diverges() -> None:
    logits = torch.tensor([[float("nan"), 0.0], [0.0, 1.0]])
    assert fit_temperature(logits, torch.tensor([0, 1])) == 1.0
