"""Calibration on validation rows: temperature, out-of-scope threshold, ECE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusiondesk.service.training.calibration import (
    choose_threshold,
    expected_calibration_error,
    fit_temperature,
    plateau_middle,
)
from fusiondesk.service.understanding.fusion import FusionConfig, SlotConfig


def test_threshold_without_out_of_scope_abstains_where_mostly_wrong() -> None:
    config = FusionConfig(intents=["a", "b"], slots=[SlotConfig(name="t", dim=2)])
    # Confident rows are right, unconfident rows mostly wrong.
    probabilities = np.array([[0.95, 0.05]] * 8 + [[0.55, 0.45]] * 4)
    targets = np.array([0] * 8 + [1, 1, 1, 0])
    threshold, rule = choose_threshold(probabilities, targets, config)
    assert 0.55 < threshold <= 0.95 and rule == "balanced_plateau_middle"


def test_threshold_with_out_of_scope_rows_rejects_them() -> None:
    config = FusionConfig(
        intents=["a", "b", "oos"], slots=[SlotConfig(name="t", dim=2)], out_of_scope_intent="oos"
    )
    probabilities = np.array([[0.9, 0.05, 0.05]] * 6 + [[0.5, 0.3, 0.2]] * 4)
    targets = np.array([0] * 6 + [2] * 4)
    threshold, _ = choose_threshold(probabilities, targets, config)
    assert 0.5 < threshold <= 0.9


def test_when_the_out_of_scope_class_catches_every_row_the_middle_of_the_tie_is_kept() -> None:
    # Every threshold from 0 up to 0.8 (the least confident right answer) answers every
    # in-scope row right and rejects every out-of-scope row: the lowest of them, 0, would
    # answer any in-scope-looking question, however unsure.
    config = FusionConfig(
        intents=["a", "b", "oos"], slots=[SlotConfig(name="t", dim=2)], out_of_scope_intent="oos"
    )
    probabilities = np.array(
        [[0.9, 0.05, 0.05]] * 4 + [[0.8, 0.1, 0.1]] * 2 + [[0.1, 0.1, 0.8]] * 3
    )
    targets = np.array([0] * 6 + [2] * 3)
    assert choose_threshold(probabilities, targets, config, plateau="lowest") == (0.0, "balanced")
    threshold, rule = choose_threshold(probabilities, targets, config)
    assert (threshold, rule) == (pytest.approx(0.4), "balanced_plateau_middle")


def test_the_middle_is_taken_of_the_widest_run_of_best_thresholds() -> None:
    candidates = np.array([0.0, 0.2, 0.3, 0.5, 0.9])
    best, worse = (2.0, 0.0), (1.0, 0.0)
    # Best over (0, 0.2] and over (0.3, 0.9]: the wider run wins, and its middle is 0.6.
    scores = [worse, best, worse, best, best]
    assert plateau_middle(candidates, scores) == pytest.approx(0.6)


def test_target_rules_keep_the_lowest_of_equal_thresholds() -> None:
    config = FusionConfig(
        intents=["a", "b", "oos"], slots=[SlotConfig(name="t", dim=2)], out_of_scope_intent="oos"
    )
    probabilities = np.array([[0.9, 0.05, 0.05]] * 4 + [[0.1, 0.1, 0.8]] * 3)
    targets = np.array([0] * 4 + [2] * 3)
    threshold, rule = choose_threshold(probabilities, targets, config, recall_target=0.9)
    assert (threshold, rule) == (0.0, "oos_recall>=0.9")


def test_ece_of_a_perfectly_calibrated_predictor_is_zero() -> None:
    probabilities = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probabilities, np.array([0, 1])) == 0.0


def test_temperature_falls_back_to_one_when_fitting_diverges() -> None:
    logits = torch.tensor([[float("nan"), 0.0], [0.0, 1.0]])
    assert fit_temperature(logits, torch.tensor([0, 1])) == 1.0
