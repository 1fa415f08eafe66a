"""Experiments on precomputed features: stratified K-fold and strategy comparisons.

Features are computed once (and cached), so every fold and every strategy sees exactly the
same embeddings; only the fusion head is retrained.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from fusiondesk.service.training.evaluation import Evaluation, evaluate_classifier
from fusiondesk.service.training.features import Features
from fusiondesk.service.training.options import TrainingOptions
from fusiondesk.service.training.trainer import train_model
from fusiondesk.service.understanding.fusion import IntentClassifier


def cross_validate(
    features: Features, labels: list[str], options: TrainingOptions, folds: int
) -> list[dict[str, Any]]:
    """Stratified K-fold: train on K-1 folds (with their own validation split), test on one."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=options.seed)
    results = []
    label_array = np.array(labels)
    for fold, (train_rows, test_rows) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        trained = train_model(
            features.rows(train_rows), list(label_array[train_rows]), options, progress=False
        )
        evaluation = evaluate_classifier(
            IntentClassifier(trained.model),
            features.rows(test_rows),
            list(label_array[test_rows]),
            [""] * len(test_rows),
        )
        results.append({"fold": fold + 1, **evaluation.metrics})
    return results


@dataclass
class Comparison:
    name: str
    evaluation: Evaluation
    training_seconds: float


def compare_options(
    train: tuple[Features, list[str]],
    test: tuple[Features, list[str], list[str]],
    variants: dict[str, TrainingOptions],
    *,
    validation: tuple[Features, list[str]] | None = None,
) -> list[Comparison]:
    """Train each variant on the same split; score each on the same test rows."""
    rows = []
    for name, options in variants.items():
        started = time.perf_counter()
        trained = train_model(*train, options, validation=validation, progress=False)
        seconds = time.perf_counter() - started
        evaluation = evaluate_classifier(IntentClassifier(trained.model), *test)
        rows.append(Comparison(name, evaluation, seconds))
    return rows


def comparison_table(rows: Sequence[Comparison]) -> list[str]:
    """One plain-text table; out-of-scope columns appear when the test data has OOS rows."""
    with_oos = any(row.evaluation.has_out_of_scope for row in rows)
    header = f"{'variant':<28} {'accuracy':>9} {'macro_f1':>9}"
    if with_oos:
        header += f" {'in_scope':>9} {'oos_rec':>8} {'oos_prec':>9}"
    header += f" {'train_s':>8}"
    lines = [header, "-" * len(header)]
    for row in rows:
        metrics = row.evaluation.metrics
        line = f"{row.name:<28} {metrics['accuracy']:>9.4f} {metrics['macro_f1']:>9.4f}"
        if with_oos:
            line += (
                f" {metrics.get('in_scope_accuracy', 0):>9.4f}"
                f" {metrics.get('oos_recall', 0):>8.4f} {metrics.get('oos_precision', 0):>9.4f}"
            )
        line += f" {row.training_seconds:>8.1f}"
        lines.append(line)
    return lines


def mean_and_std(results: Sequence[dict[str, Any]], metric: str) -> tuple[float, float]:
    values = np.array([result[metric] for result in results], dtype=float)
    return float(values.mean()), float(values.std())
