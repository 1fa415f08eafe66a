from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fusiondesk.service.training.calibration import choose_threshold
from fusiondesk.service.training.evaluation import score
from fusiondesk.service.training.report import write_report
from fusiondesk.service.understanding.fusion import FusionConfig, SlotConfig

INTENTS = ["balance", "card_lost", "out_of_scope"]


def _probabilities(rows: list[tuple[int, float]]) -> np.ndarray:
    """One row per (top intent index, its probability); the rest spread evenly."""
    out = np.zeros((len(rows), len(INTENTS)))
    for i, (top, p) in enumerate(rows):
        out[i] = (1 - p) / (len(INTENTS) - 1)
        out[i, top] = p
    return out


def test_out_of_scope_figures_count_abstentions_and_the_explicit_class() -> None:
    gold = ["balance", "balance", "card_lost", "out_of_scope", "out_of_scope", "out_of_scope"]
    probabilities = _probabilities([(0, 0.9), (0, 0.4), (1, 0.8), (2, 0.7), (0, 0.3), (1, 0.9)])
    evaluation = score(
        gold, probabilities, INTENTS, threshold=0.5, out_of_scope_intent="out_of_scope"
    )
    # In scope: 2 of 3 answered and right; out of scope: 2 of 3 rejected (class, threshold).
    assert evaluation.metrics["in_scope_accuracy"] == pytest.approx(2 / 3)
    assert evaluation.metrics["oos_recall"] == pytest.approx(2 / 3)
    # Rejections: the 0.4 in-scope row and two real out-of-scope rows.
    assert evaluation.metrics["oos_precision"] == pytest.approx(2 / 3)
    assert evaluation.predicted[1] == "out_of_scope"


def test_without_out_of_scope_rows_accuracy_is_top1() -> None:
    probabilities = _probabilities([(0, 0.9), (1, 0.4)])
    evaluation = score(
        ["balance", "card_lost"], probabilities, INTENTS, threshold=0.5, out_of_scope_intent=None
    )
    assert evaluation.accuracy == 1.0 and not evaluation.has_out_of_scope
    assert evaluation.metrics["answered_share"] == 0.5


def test_recall_target_threshold_rejects_enough_out_of_scope_rows() -> None:
    config = FusionConfig(
        intents=INTENTS, slots=[SlotConfig(name="t", dim=2)], out_of_scope_intent="out_of_scope"
    )
    rng = np.random.default_rng(0)
    in_scope = [(int(rng.integers(2)), float(rng.uniform(0.5, 1.0))) for _ in range(50)]
    oos = [(int(rng.integers(2)), float(rng.uniform(0.35, 0.8))) for _ in range(50)]
    probabilities = _probabilities(in_scope + oos)
    targets = np.array([top for top, _ in in_scope] + [2] * 50)
    confidence = probabilities.max(axis=1)
    thresholds = {}
    for target in (0.5, 0.95):
        threshold, rule = choose_threshold(probabilities, targets, config, recall_target=target)
        assert rule == f"oos_recall>={target:g}"
        assert (confidence[50:] < threshold).mean() >= target
        thresholds[target] = threshold
    # A laxer target leaves more in-scope rows answered.
    assert thresholds[0.5] < thresholds[0.95]


def test_report_writes_tables_charts_and_errors(tmp_path: Path) -> None:
    gold = ["balance", "card_lost", "out_of_scope", "card_lost"]
    probabilities = _probabilities([(0, 0.9), (0, 0.8), (1, 0.6), (1, 0.9)])
    evaluation = score(
        gold,
        probabilities,
        INTENTS,
        threshold=0.5,
        out_of_scope_intent="out_of_scope",
        texts=["a", "b", "c", "d"],
    )
    paths = write_report(evaluation, tmp_path / "report", title="unit")
    names = {path.name for path in paths}
    assert names == {
        "metrics.json",
        "per_intent.txt",
        "errors.tsv",
        "confusions.png",
        "confidence.png",
    }
    summary = json.loads((tmp_path / "report" / "metrics.json").read_text())["summary"]
    assert summary["oos_recall"] == 0.0 and summary["rows"] == 4
    errors = (tmp_path / "report" / "errors.tsv").read_text().splitlines()
    assert errors[0] == "text\tgold\tpredicted\tconfidence" and len(errors) == 3
    for png in ("confusions.png", "confidence.png"):
        assert (tmp_path / "report" / png).read_bytes()[:4] == b"\x89PNG"
