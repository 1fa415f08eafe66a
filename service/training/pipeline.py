"""File in, model directory out: the steps behind ``fusiondesk train`` and ``evaluate``."""

from __future__ import annotations

import json
import platform
import shutil
from importlib.metadata import version
from pathlib import Path

import numpy as np

from fusiondesk.plugins import PluginRegistry
from fusiondesk.plugins.text import MULTILINGUAL_SLOT
from fusiondesk.service.training.data import Dataset, load_dataset
from fusiondesk.service.training.evaluation import Evaluation, evaluate_classifier
from fusiondesk.service.training.features import featurize
from fusiondesk.service.training.finetune import (
    FinetuneOptions,
    cached_finetuned_encoder,
    finetune_encoder,
)
from fusiondesk.service.training.options import TrainingOptions
from fusiondesk.service.training.trainer import TrainingResult, split_rows, train_model
from fusiondesk.service.training.vocabulary import dataset_vocabulary
from fusiondesk.service.understanding.fusion import IntentClassifier
from fusiondesk.service.understanding.fusion.domain_words import save_domain_words
from fusiondesk.service.understanding.fusion.encoders import (
    ENCODERS_DIR,
    PluginSettings,
    record_text_encoder,
    registry_text_encoder,
    text_encoder_settings,
    with_plugin_settings,
)

HISTORY_FILE = "training_history.json"


def train_from_file(
    data_path: Path,
    out_dir: Path,
    registry: PluginRegistry,
    options: TrainingOptions,
    *,
    cache_dir: Path | None,
    val_path: Path | None = None,
    finetune: FinetuneOptions | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> TrainingResult:
    """Train a model on ``data_path`` into ``out_dir``.

    Validation (early stopping, temperature, threshold) uses ``val_path`` when given, else a
    stratified split of the data. With ``finetune``, the text encoder is first fine-tuned on
    the training rows (never the validation ones) and saved inside the model directory.
    """
    dataset = load_dataset(data_path)
    validation_set = load_dataset(val_path) if val_path is not None else None
    plugin_settings: PluginSettings = {}
    # Named before fine-tuning: a tuned copy is served from the model directory, but the
    # model still says which packaged encoder it grew from (and the slots' width).
    text_encoder = registry_text_encoder(registry)
    if finetune is not None:
        training_rows = rows_for_training(dataset, options, held_out=validation_set is None)
        encoder_dir = Path(ENCODERS_DIR) / "text"
        _finetune_text_encoder(
            dataset, training_rows, registry, finetune, out_dir / encoder_dir, cache_dir, device
        )
        plugin_settings = text_encoder_settings(registry, encoder_dir.as_posix())
        registry = with_plugin_settings(registry, plugin_settings, out_dir)
    features = featurize(dataset, registry, cache_dir, progress=progress).only(options.slots)
    validation = None
    if validation_set is not None:
        val_features = featurize(validation_set, registry, cache_dir, progress=progress).only(
            options.slots
        )
        validation = (val_features, validation_set.intents)
    result = train_model(
        features, dataset.intents, options, validation=validation, progress=progress
    )
    if MULTILINGUAL_SLOT in features.specs:
        plugin_settings.setdefault("text", {})["multilingual"] = True
    result.model.config.plugin_settings = plugin_settings
    record_text_encoder(result.model.config.slots, text_encoder)
    result.model.config.metadata = {
        "data": {"path": str(data_path), "sha256": dataset.digest, "rows": len(dataset)},
        "validation": (
            {"path": str(val_path), "sha256": validation_set.digest, "rows": len(validation_set)}
            if validation_set is not None
            else None
        ),
        "options": options.model_dump(),
        "finetune": finetune.model_dump() if finetune is not None else None,
        "metrics": result.metrics,
        "encoders": {
            plugin.name: plugin.fingerprint()
            for plugin in registry
            if any(slot.name in features.specs for slot in plugin.slots)
        },
        "versions": _library_versions(),
    }
    # Before the model: a watcher reloads when config.json changes, and must find the new words.
    save_domain_words(out_dir, dataset_vocabulary(dataset))
    result.model.save(out_dir)
    (out_dir / HISTORY_FILE).write_text(json.dumps(result.history, indent=2) + "\n")
    return result


def rows_for_training(dataset: Dataset, options: TrainingOptions, *, held_out: bool) -> list[int]:
    """The rows the head trains on: all of them, or those outside the validation split."""
    if not held_out:
        return list(range(len(dataset)))
    intents = sorted(set(dataset.intents))
    targets = np.array([intents.index(label) for label in dataset.intents])
    train_rows, _ = split_rows(targets, options)
    return [int(row) for row in train_rows]


def finetuning_rows(
    dataset: Dataset, rows: list[int], registry: PluginRegistry
) -> tuple[Path, list[str], list[str]]:
    """The text encoder to start from, and the texts and intents of ``rows`` to tune it on."""
    text_plugin = registry.get("text")
    base = Path(getattr(text_plugin.config, "model_path"))  # noqa: B009 - plugin-specific field
    examples = [dataset.examples[row] for row in rows if "text" in dataset.examples[row].inputs]
    texts = [" ".join(example.inputs["text"].split()) for example in examples]
    return base, texts, [example.intent for example in examples]


def _finetune_text_encoder(
    dataset: Dataset,
    rows: list[int],
    registry: PluginRegistry,
    options: FinetuneOptions,
    target: Path,
    cache_dir: Path | None,
    device: str,
) -> None:
    base, texts, labels = finetuning_rows(dataset, rows, registry)
    shutil.rmtree(target, ignore_errors=True)
    if cache_dir is None:
        finetune_encoder(base, texts, labels, target, options, device=device)
        return
    shutil.copytree(
        cached_finetuned_encoder(base, texts, labels, options, cache_dir, device=device), target
    )


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
    texts = [example.inputs.get("text", "") for example in dataset.examples]
    combinations = ["+".join(sorted(example.inputs)) for example in dataset.examples]
    return evaluate_classifier(classifier, features, dataset.intents, texts, combinations)


def _library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("fusiondesk", "torch", "transformers", "numpy"):
        versions[package] = version(package)
    return versions
