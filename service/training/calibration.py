"""Calibration on the validation split: a temperature, an out-of-scope threshold, their error.

A trained model is overconfident; one temperature (Guo et al., 2017) fixes most of it, and the
threshold under which the bot says "I don't know" is chosen on the calibrated confidences.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import nn

from fusiondesk.service.training.options import TrainingOptions
from fusiondesk.service.understanding.fusion import Calibration, FusionConfig


def calibrate(
    logits: torch.Tensor, targets: torch.Tensor, config: FusionConfig, options: TrainingOptions
) -> tuple[Calibration, dict[str, float]]:
    """The calibration fitted on validation ``logits``, and validation accuracy and ECE."""
    temperature = fit_temperature(logits, targets)
    probabilities = torch.softmax(logits / temperature, dim=-1).numpy()
    threshold, rule = choose_threshold(
        probabilities,
        targets.numpy(),
        config,
        recall_target=options.oos_recall_target,
        precision_target=options.oos_precision_target,
    )
    metrics = {
        "val_accuracy": float((logits.argmax(-1) == targets).float().mean()),
        "val_ece_before_calibration": expected_calibration_error(
            torch.softmax(logits, -1).numpy(), targets.numpy()
        ),
        "val_ece": expected_calibration_error(probabilities, targets.numpy()),
    }
    return Calibration(temperature=temperature, threshold=threshold, rule=rule), metrics


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Temperature scaling (Guo et al., 2017): one scalar that minimises validation NLL."""
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(logits / log_t.exp(), targets)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimizer.step(closure)  # type: ignore[no-untyped-call]
    temperature = float(log_t.detach().exp().clamp(0.05, 20.0).item())
    # LBFGS can diverge on a tiny, perfectly separated split: then leave the logits as they are.
    return temperature if math.isfinite(temperature) else 1.0


Plateau = Literal["lowest", "middle"]
"""Which threshold of a run of equally good ones to keep: the lowest (answer the most), or the
middle of the run (the widest margin on both sides; docs/training.md, "Calibration")."""


def choose_threshold(
    probabilities: np.ndarray,
    targets: np.ndarray,
    config: FusionConfig,
    *,
    recall_target: float | None = None,
    precision_target: float | None = None,
    plateau: Plateau = "middle",
) -> tuple[float, str]:
    """The confidence under which the bot should say "I don't know", and the rule used.

    With out-of-scope rows: by default the threshold that maximises the mean of in-scope
    accuracy (answered and right) and out-of-scope recall; with a recall target, the one with
    the best in-scope accuracy among those reaching it; with a precision target, the best
    out-of-scope recall among those whose rejections are out-of-scope often enough. Without
    out-of-scope rows: answer only where, on validation, the model is right more often than
    wrong at that confidence.

    The default rule keeps the middle of its best run of thresholds (``plateau``): on a small
    split, every threshold from 0 up to the least confident right answer can score the same
    (the out_of_scope class catching every out-of-scope row), and the lowest of them, 0,
    would never say "I don't know" to a question no intent covers. The target rules keep the
    lowest, as before: their targets say how much to reject.
    """
    candidates, scores, rule = threshold_scores(
        probabilities,
        targets,
        config,
        recall_target=recall_target,
        precision_target=precision_target,
    )
    if rule != "balanced" or plateau == "lowest":
        return float(candidates[scores.index(max(scores))]), rule
    return plateau_middle(candidates, scores), "balanced_plateau_middle"


def threshold_scores(
    probabilities: np.ndarray,
    targets: np.ndarray,
    config: FusionConfig,
    *,
    recall_target: float | None = None,
    precision_target: float | None = None,
) -> tuple[np.ndarray, list[tuple[float, float]], str]:
    """Each candidate threshold (0 and every validation confidence, ascending), its score
    under the rule (higher is better), and the rule's name."""
    confidence = probabilities.max(axis=1)
    predicted = probabilities.argmax(axis=1)
    oos = config.out_of_scope_intent
    oos_index = config.intents.index(oos) if oos is not None else -1
    candidates = np.unique(np.concatenate([[0.0], confidence]))
    has_oos = oos_index >= 0 and bool((targets == oos_index).any())
    rule = "balanced"
    if has_oos and recall_target is not None:
        rule = f"oos_recall>={recall_target:g}"
    elif has_oos and precision_target is not None:
        rule = f"oos_precision>={precision_target:g}"
    scores: list[tuple[float, float]] = []
    for threshold in candidates:
        answered = (confidence >= threshold) & (predicted != oos_index)
        correct = answered & (predicted == targets)
        if has_oos:
            in_scope = targets != oos_index
            accuracy = float(correct[in_scope].mean())
            recall = float((~answered[~in_scope]).mean())
            rejected = ~answered
            precision = float((~in_scope[rejected]).mean()) if rejected.any() else 1.0
            if recall_target is not None:
                scores.append((min(recall, recall_target), accuracy))
            elif precision_target is not None:
                scores.append((min(precision, precision_target), recall))
            else:
                scores.append((accuracy + recall, 0.0))
        else:
            scores.append((float(correct.sum()) - float((answered & ~correct).sum()), 0.0))
    return candidates, scores, rule


def plateau_middle(candidates: np.ndarray, scores: list[tuple[float, float]]) -> float:
    """The middle of the widest run of consecutive best-scoring candidates.

    Candidate ``k`` stands for every threshold in (candidate ``k-1``, candidate ``k``]: none
    lies between two validation confidences. So the run from ``a`` to ``b`` scores the same
    all over (candidate ``a-1``, candidate ``b``], and its middle keeps the widest margin to
    the confidences where the score changes.
    """
    best = max(scores)
    runs: list[tuple[int, int]] = []
    for k, score in enumerate(scores):
        if score != best:
            continue
        if runs and runs[-1][1] == k - 1:
            runs[-1] = (runs[-1][0], k)
        else:
            runs.append((k, k))

    def bounds(run: tuple[int, int]) -> tuple[float, float]:
        start, end = run
        low = float(candidates[start - 1]) if start > 0 else float(candidates[0])
        return low, float(candidates[end])

    low, high = max((bounds(run) for run in runs), key=lambda edges: edges[1] - edges[0])
    return (low + high) / 2


def expected_calibration_error(
    probabilities: np.ndarray, targets: np.ndarray, bins: int = 15
) -> float:
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == targets
    edges = np.linspace(0.0, 1.0, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)
