"""Trains a fusion model on precomputed slot features.

Hold out a stratified validation split, train with AdamW and label smoothing, stop early on
validation accuracy, then fit a temperature and an out-of-scope threshold on that split
(``calibration``). The batches are augmented by ``modality_dropout`` and, optionally, by
synthetic out-of-scope rows (``outliers``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn
from tqdm.auto import tqdm

from fusiondesk.service.training.calibration import calibrate
from fusiondesk.service.training.features import Features
from fusiondesk.service.training.modality_dropout import modality_dropout
from fusiondesk.service.training.options import TrainingOptions
from fusiondesk.service.training.outliers import OutlierMaker
from fusiondesk.service.understanding.fusion import FusionConfig, FusionModel, SlotConfig

WARMUP_FRACTION = 0.3


@dataclass
class TrainingResult:
    model: FusionModel
    history: list[dict[str, float]]
    metrics: dict[str, Any]


@dataclass(frozen=True)
class _TrainingTensors:
    """Every row, training and validation alike, as tensors by slot (sorted slot names)."""

    values: dict[str, torch.Tensor]
    present: dict[str, torch.Tensor]
    parts: dict[str, str]
    """The message part each slot belongs to (a voice clip gives transcript and acoustic)."""
    y: torch.Tensor

    @classmethod
    def of(cls, features: Features, targets: np.ndarray) -> _TrainingTensors:
        names = sorted(features.specs)
        return cls(
            values={n: torch.from_numpy(features.values[n]) for n in names},
            present={n: torch.from_numpy(features.present[n]) for n in names},
            parts={n: features.parts.get(n, n) for n in names},
            y=torch.from_numpy(targets),
        )


def train_model(
    features: Features,
    labels: list[str],
    options: TrainingOptions,
    *,
    validation: tuple[Features, list[str]] | None = None,
    progress: bool = True,
) -> TrainingResult:
    """Train on ``features``; validate on ``validation``, else on a stratified split of them."""
    started = time.perf_counter()
    torch.manual_seed(options.seed)
    intents = sorted(set(labels))
    if len(intents) < 2:
        raise ValueError("training needs at least two intents")
    features, targets, (train_rows, val_rows) = _rows(
        features, labels, intents, options, validation
    )
    config = _fusion_config(features, intents, options)
    model = FusionModel(config)
    data = _TrainingTensors.of(features, targets)
    history = _fit(
        model, data, (train_rows, val_rows), options, _outlier_maker(config, options), progress
    )
    val_logits = _logits(model, data.values, data.present, val_rows)
    config.calibration, val_metrics = calibrate(val_logits, data.y[val_rows], config, options)
    metrics: dict[str, Any] = {
        **val_metrics,
        "epochs_run": len(history),
        "train_rows": len(train_rows),
        "val_rows": len(val_rows),
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    return TrainingResult(model.eval(), history, metrics)


def split_rows(targets: np.ndarray, options: TrainingOptions) -> tuple[np.ndarray, np.ndarray]:
    """The stratified train/validation row split (deterministic for a seed)."""
    rows = np.arange(len(targets))
    counts = np.bincount(targets)
    n_val = max(int(len(rows) * options.val_fraction), 1)
    stratify = targets if counts.min() >= 2 and n_val >= len(counts) else None
    train_rows, val_rows = train_test_split(
        rows, test_size=n_val, random_state=options.seed, stratify=stratify
    )
    return np.sort(train_rows), np.sort(val_rows)


def _rows(
    features: Features,
    labels: list[str],
    intents: list[str],
    options: TrainingOptions,
    validation: tuple[Features, list[str]] | None,
) -> tuple[Features, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """All rows (given validation rows appended), their intent indices and the row split."""
    if validation is None:
        targets = np.array([intents.index(label) for label in labels])
        return features, targets, split_rows(targets, options)
    val_features, val_labels = validation
    unknown = sorted(set(val_labels) - set(intents))
    if unknown:
        raise ValueError(f"validation intents missing from the training data: {unknown}")
    targets = np.array([intents.index(label) for label in [*labels, *val_labels]])
    split = np.arange(len(labels)), np.arange(len(labels), len(targets))
    return features.concat(val_features), targets, split


def _fusion_config(
    features: Features, intents: list[str], options: TrainingOptions
) -> FusionConfig:
    return FusionConfig(
        intents=intents,
        slots=[
            SlotConfig(name=n, dim=features.specs[n].dim, space=features.specs[n].space)
            for n in sorted(features.specs)
        ],
        strategy=options.strategy,
        hidden_dim=options.hidden_dim,
        dropout=options.dropout,
        members=options.members,
        shared_projections=options.shared_projections,
        out_of_scope_intent=(
            options.out_of_scope_intent if options.out_of_scope_intent in intents else None
        ),
    )


def _outlier_maker(config: FusionConfig, options: TrainingOptions) -> OutlierMaker | None:
    """Synthetic out-of-scope rows need an out-of-scope intent to label them with."""
    oos = config.out_of_scope_intent
    return OutlierMaker(config.intents.index(oos), options.synthetic_outliers) if oos else None


def _fit(
    model: FusionModel,
    data: _TrainingTensors,
    split: tuple[np.ndarray, np.ndarray],
    options: TrainingOptions,
    outliers: OutlierMaker | None,
    progress: bool,
) -> list[dict[str, float]]:
    """Train epoch by epoch; the model ends with the weights of its best validation epoch."""
    train_rows, val_rows = split
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=options.learning_rate, weight_decay=options.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=options.learning_rate,
        total_steps=options.epochs * math.ceil(len(train_rows) / options.batch_size),
        pct_start=WARMUP_FRACTION,
    )
    epoch_step = _EpochTrainer(model, data, options, outliers, optimizer, scheduler)
    best = _BestEpoch(int(options.epochs * WARMUP_FRACTION), options.patience)
    history: list[dict[str, float]] = []
    bar = tqdm(range(options.epochs), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        train_loss = epoch_step.run(train_rows)
        val_loss, val_accuracy = _validate(
            model, data.values, data.present, data.parts, data.y, val_rows
        )
        history.append(
            {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
            }
        )
        bar.set_postfix(loss=f"{train_loss:.3f}", val_acc=f"{val_accuracy:.3f}")
        if best.should_stop(epoch, val_accuracy, val_loss, model):
            break
    bar.close()
    if best.state is not None:
        model.load_state_dict(best.state)
    return history


class _EpochTrainer:
    """One pass over the training rows in shuffled batches (augmented, then one AdamW step)."""

    def __init__(
        self,
        model: FusionModel,
        data: _TrainingTensors,
        options: TrainingOptions,
        outliers: OutlierMaker | None,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
    ) -> None:
        self.model, self.data, self.options, self.outliers = model, data, options, outliers
        self.optimizer, self.scheduler = optimizer, scheduler
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=options.label_smoothing)
        # Shuffling, modality dropout and outlier mixing draw from this generator, in order.
        self.generator = torch.Generator().manual_seed(options.seed)

    def run(self, train_rows: np.ndarray) -> float:
        """The mean training loss of the epoch."""
        self.model.train()
        shuffle = torch.randperm(len(train_rows), generator=self.generator)
        order = torch.from_numpy(train_rows)[shuffle]
        total_loss = 0.0
        for start in range(0, len(order), self.options.batch_size):
            rows = order[start : start + self.options.batch_size]
            total_loss += self._step(rows) * len(rows)
        return total_loss / len(train_rows)

    def _step(self, rows: torch.Tensor) -> float:
        data = self.data
        values = {n: v[rows] for n, v in data.values.items()}
        present = modality_dropout(
            {n: m[rows] for n, m in data.present.items()},
            data.parts,
            self.options.modality_dropout,
            self.generator,
        )
        y = data.y[rows]
        if self.outliers is not None:
            values, present, y = self.outliers.extend(values, present, y, self.generator)
        # Each member learns on its own (averaging first would let members lean on each
        # other and lose the ensemble's diversity).
        member_logits = self.model.member_logits(values, present)
        loss = torch.stack([self.loss_fn(logits, y) for logits in member_logits]).mean()
        self.optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        self.scheduler.step()
        return loss.item()


class _BestEpoch:
    """Early stopping: keeps the best epoch's weights, stops after ``patience`` worse ones."""

    def __init__(self, warmup_epochs: int, patience: int) -> None:
        self.warmup_epochs, self.patience = warmup_epochs, patience
        self.state: dict[str, torch.Tensor] | None = None
        self.key = (-1.0, 0.0)
        self.stale = 0

    def should_stop(
        self, epoch: int, val_accuracy: float, val_loss: float, model: FusionModel
    ) -> bool:
        key = (val_accuracy, -val_loss)
        if key > self.key:
            self.key, self.stale = key, 0
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch >= self.warmup_epochs:
            # Before the learning-rate peak validation accuracy is noisy: do not stop there.
            self.stale += 1
        return self.stale >= self.patience


def _validate(
    model: FusionModel,
    values: dict[str, torch.Tensor],
    present: dict[str, torch.Tensor],
    parts: dict[str, str],
    y: torch.Tensor,
    rows: np.ndarray,
) -> tuple[float, float]:
    """Validation loss and accuracy, averaged over the whole rows and each part alone.

    Early stopping picks the epoch for every way the model will be asked: with full rows
    alone, the epoch where the parts agree best wins, not the one best at typed text alone.
    """
    views = [present]
    part_names = sorted(set(parts.values()))
    if len(part_names) > 1:
        views += [
            {n: mask & (parts[n] == part) for n, mask in present.items()} for part in part_names
        ]
    losses, accuracies = [], []
    for view in views:
        has_slot = torch.stack([view[n][rows] for n in view], dim=1).any(dim=1).numpy()
        view_rows = rows[has_slot]
        if len(view_rows) == 0:
            continue
        logits = _logits(model, values, view, view_rows)
        losses.append(float(nn.functional.cross_entropy(logits, y[view_rows])))
        accuracies.append(float((logits.argmax(-1) == y[view_rows]).float().mean()))
    return float(np.mean(losses)), float(np.mean(accuracies))


def _logits(
    model: FusionModel,
    values: dict[str, torch.Tensor],
    present: dict[str, torch.Tensor],
    rows: np.ndarray,
) -> torch.Tensor:
    model.eval()
    index = torch.from_numpy(rows)
    with torch.no_grad():
        logits: torch.Tensor = model(
            {n: v[index] for n, v in values.items()}, {n: m[index] for n, m in present.items()}
        )
    return logits
