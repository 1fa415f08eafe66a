"""The evaluation report directory: figures as JSON and text, two PNG charts, the errors.

A full confusion matrix of 150 intents is unreadable, so the confusion chart shows the most
frequent (gold -> predicted) confusions as labelled bars, and beside them the confusion matrix
restricted to the intents involved in those confusions.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fusiondesk.service.training.evaluation import Evaluation  # noqa: E402

METRICS_FILE = "metrics.json"
TABLE_FILE = "per_intent.txt"
ERRORS_FILE = "errors.tsv"
CONFUSION_PNG = "confusions.png"
CONFIDENCE_PNG = "confidence.png"
TOP_CONFUSIONS = 25


def write_report(evaluation: Evaluation, directory: Path, *, title: str = "") -> list[Path]:
    """Write every report file into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [
        _write_metrics(evaluation, directory / METRICS_FILE),
        _write_table(evaluation, directory / TABLE_FILE),
        _write_errors(evaluation, directory / ERRORS_FILE),
        _plot_confusions(evaluation, directory / CONFUSION_PNG, title),
        _plot_confidence(evaluation, directory / CONFIDENCE_PNG, title),
    ]
    return paths


def format_metrics(evaluation: Evaluation) -> list[str]:
    """``name value`` lines, one per headline figure."""
    lines = [f"rows {evaluation.rows}"]
    lines += [f"{name} {value:.4f}" for name, value in evaluation.metrics.items()]
    combinations = evaluation.per_combination()
    if len(combinations) > 1:
        for combination, row in combinations.items():
            lines += [f"rows[{combination}] {row['rows']:.0f}"]
            lines += [f"accuracy[{combination}] {row['accuracy']:.4f}"]
    return lines


def _write_metrics(evaluation: Evaluation, path: Path) -> Path:
    body = {
        "summary": evaluation.summary(),
        "per_intent": evaluation.per_intent,
        "per_combination": evaluation.per_combination(),
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


def _write_table(evaluation: Evaluation, path: Path) -> Path:
    width = max(len(name) for name in evaluation.per_intent)
    lines = format_metrics(evaluation) + [""]
    lines.append(f"{'intent':<{width}}  precision  recall     f1  support")
    for name, row in sorted(evaluation.per_intent.items(), key=lambda item: item[1]["f1"]):
        lines.append(
            f"{name:<{width}}  {row['precision']:>9.3f}  {row['recall']:>6.3f}  "
            f"{row['f1']:>5.3f}  {int(row['support']):>7}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_errors(evaluation: Evaluation, path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["text", "gold", "predicted", "confidence"])
        rows = zip(
            evaluation.texts,
            evaluation.gold,
            evaluation.predicted,
            evaluation.confidence,
            strict=True,
        )
        for text, gold, predicted, confidence in sorted(rows, key=lambda row: -row[3]):
            if gold != predicted:
                writer.writerow([text, gold, predicted, f"{confidence:.4f}"])
    return path


def _plot_confusions(evaluation: Evaluation, path: Path, title: str) -> Path:
    pairs = Counter(
        (gold, predicted)
        for gold, predicted in zip(evaluation.gold, evaluation.predicted, strict=True)
        if gold != predicted
    ).most_common(TOP_CONFUSIONS)
    figure, (bars, matrix) = plt.subplots(
        1, 2, figsize=(20, 10), gridspec_kw={"width_ratios": [1, 1.1]}
    )
    figure.suptitle(f"{title} top confusions (gold -> predicted)".strip(), fontsize=14)
    if not pairs:
        bars.text(0.5, 0.5, "no errors", ha="center", va="center", fontsize=16)
        matrix.axis("off")
    else:
        labels = [f"{gold} -> {predicted}" for (gold, predicted), _ in pairs]
        counts = [count for _, count in pairs]
        bars.barh(range(len(pairs)), counts, color="#c0504d")
        bars.set_yticks(range(len(pairs)), labels, fontsize=8)
        bars.invert_yaxis()
        bars.set_xlabel("errors")
        involved = sorted({name for pair, _ in pairs for name in pair})
        index = {name: i for i, name in enumerate(involved)}
        grid = np.zeros((len(involved), len(involved)), dtype=int)
        for gold, predicted in zip(evaluation.gold, evaluation.predicted, strict=True):
            if gold in index and predicted in index:
                grid[index[gold], index[predicted]] += 1
        np.fill_diagonal(grid, 0)  # errors only: right answers would drown the colour scale
        shown = np.where(grid > 0, grid, np.nan)
        image = matrix.imshow(shown, cmap="viridis")
        matrix.set_xticks(range(len(involved)), involved, rotation=90, fontsize=7)
        matrix.set_yticks(range(len(involved)), involved, fontsize=7)
        matrix.set_xlabel("predicted")
        matrix.set_ylabel("gold")
        matrix.set_title("errors among the intents on the left", fontsize=10)
        figure.colorbar(image, ax=matrix, fraction=0.04)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _plot_confidence(evaluation: Evaluation, path: Path, title: str) -> Path:
    confidence = np.array(evaluation.confidence)
    correct = np.array(evaluation.gold) == np.array(evaluation.predicted)
    figure, axes = plt.subplots(figsize=(9, 5))
    bins = [step / 40 for step in range(41)]
    axes.hist(confidence[correct], bins=bins, alpha=0.7, label="right", color="#4f81bd")
    axes.hist(confidence[~correct], bins=bins, alpha=0.7, label="wrong", color="#c0504d")
    threshold = float(evaluation.metrics.get("threshold", 0.0))
    axes.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    axes.set_yscale("log")
    axes.set_xlabel("calibrated confidence of the top intent")
    axes.set_ylabel("messages (log scale)")
    axes.set_title(f"{title} confidence".strip())
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
