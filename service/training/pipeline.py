"""File in, model directory out: the steps behind ``fusiondesk train`` and ``evaluate``."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from plugins import PluginRegistry
from service.fusion import IntentClassifier
from service.training.data import load_dataset
from service.training.features import featurize
from service.training.trainer import TrainingOptions, TrainingResult, train_model

HISTORY_FILE = "training_history.json"


def train_from_file(
    data_path: Path,
    out_dir: Path,
    registry: PluginRegistry,
    options: TrainingOptions,
    *,
    cache_dir: Path | None,
    progress: bool = True,
) -> TrainingResult:
    dataset = load_dataset(data_path)
    features = featurize(dataset, registry, cache_dir, progress=progress)
    result = train_model(features, dataset.intents, options, progress=progress)
    result.model.config.metadata = {
        "data": {"path": str(data_path), "sha256": dataset.digest, "rows": len(dataset)},
        "options": options.model_dump(),
        "metrics": result.metrics,
        "encoders": {
            plugin.name: plugin.fingerprint()
            for plugin in registry
            if any(slot.name in features.specs for slot in plugin.slots)
        },
        "versions": _library_versions(),
    }
    result.model.save(out_dir)
    (out_dir / HISTORY_FILE).write_text(json.dumps(result.history, indent=2) + "\n")
    return result


@dataclass
class Evaluation:
    accuracy: float
    macro_f1: float
    rows: int
    gold: list[str]
    predicted: list[str]
    confidence: list[float]

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "accuracy": self.accuracy, "macro_f1": self.macro_f1}


def evaluate_file(
    classifier: IntentClassifier,
    data_path: Path,
    registry: PluginRegistry,
    *,
    cache_dir: Path | None,
    progress: bool = True,
) -> Evaluation:
    dataset = load_dataset(data_path)
    features = featurize(dataset, registry, cache_dir, progress=progress)
    spaces = {name: spec.space for name, spec in features.specs.items()}
    batch = [classifier.align(slots, spaces) for slots in features.as_slot_dicts()]
    probabilities = classifier.probabilities(batch)
    predicted = [classifier.intents[i] for i in probabilities.argmax(axis=1)]
    gold = dataset.intents
    return Evaluation(
        accuracy=float(accuracy_score(gold, predicted)),
        macro_f1=float(f1_score(gold, predicted, average="macro", zero_division=0)),
        rows=len(gold),
        gold=gold,
        predicted=predicted,
        confidence=[float(c) for c in np.max(probabilities, axis=1)],
    )


def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("fusiondesk", "torch", "transformers", "numpy"):
        versions[package] = version(package)
    return versions
