"""Trains a fusion model on precomputed slot features.

Hold out a stratified validation split, train with AdamW and label smoothing, stop early on
validation accuracy, then fit a temperature and an out-of-scope threshold on that split.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, Field
from sklearn.model_selection import train_test_split
from torch import nn
from tqdm.auto import tqdm

from fusiondesk.service.training.features import Features
from fusiondesk.service.understanding.fusion import (
    Calibration,
    FusionConfig,
    FusionModel,
    SlotConfig,
)
from fusiondesk.service.understanding.fusion.strategies import Strategy

WARMUP_FRACTION = 0.3


class TrainingOptions(BaseModel):
    epochs: int = Field(default=80, ge=1)
    batch_size: int = Field(default=128, ge=1)
    learning_rate: float = Field(default=2e-3, gt=0)
    weight_decay: float = Field(default=0.05, ge=0)
    hidden_dim: int = Field(default=768, ge=8)
    dropout: float = Field(default=0.4, ge=0, lt=1)
    label_smoothing: float = Field(default=0.1, ge=0, lt=1)
    modality_dropout: float = Field(
        default=0.3,
        ge=0,
        lt=1,
        description="Chance of hiding a present part of a message, and a present slot of a "
        "part (multi-slot data).",
    )
    members: int = Field(default=1, ge=1, description="Heads trained side by side, averaged.")
    synthetic_outliers: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="With an out-of-scope class: per batch, this share of extra rows that mix "
        "two in-scope rows of different intents, labelled out-of-scope (the space between "
        "intents is what the model should not claim).",
    )
    shared_projections: bool = Field(
        default=True, description="Slots of one vector space share one projection."
    )
    val_fraction: float = Field(default=0.1, gt=0, lt=0.5)
    patience: int = Field(default=12, ge=1)
    seed: int = 13
    strategy: Strategy = "weighted_sum"  # the winner of bench/accuracy.py with frozen encoders
    out_of_scope_intent: str = "out_of_scope"
    oos_recall_target: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Pick the threshold that keeps the most in-scope answers right while "
        "rejecting at least this share of validation out-of-scope rows.",
    )
    oos_precision_target: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Pick the threshold with the best out-of-scope recall whose rejections are "
        "out-of-scope at least this often (validation).",
    )


@dataclass
class TrainingResult:
    model: FusionModel
    history: list[dict[str, float]]
    metrics: dict[str, Any]


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
    if validation is None:
        targets = np.array([intents.index(label) for label in labels])
        train_rows, val_rows = split_rows(targets, options)
    else:
        val_features, val_labels = validation
        unknown = sorted(set(val_labels) - set(intents))
        if unknown:
            raise ValueError(f"validation intents missing from the training data: {unknown}")
        targets = np.array([intents.index(label) for label in [*labels, *val_labels]])
        train_rows = np.arange(len(labels))
        val_rows = np.arange(len(labels), len(targets))
        features = features.concat(val_features)
    slot_names = sorted(features.specs)
    config = FusionConfig(
        intents=intents,
        slots=[
            SlotConfig(name=n, dim=features.specs[n].dim, space=features.specs[n].space)
            for n in slot_names
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
    model = FusionModel(config)
    values = {n: torch.from_numpy(features.values[n]) for n in slot_names}
    present = {n: torch.from_numpy(features.present[n]) for n in slot_names}
    y = torch.from_numpy(targets)
    parts = {n: features.parts.get(n, n) for n in slot_names}
    oos = config.out_of_scope_intent
    outliers = _OutlierMaker(intents.index(oos), options.synthetic_outliers) if oos else None
    history = _fit(
        model, values, present, parts, y, (train_rows, val_rows), options, outliers, progress
    )

    val_logits = _logits(model, values, present, val_rows)
    val_targets = y[val_rows]
    temperature = fit_temperature(val_logits, val_targets)
    probabilities = torch.softmax(val_logits / temperature, dim=-1).numpy()
    threshold, rule = choose_threshold(
        probabilities,
        val_targets.numpy(),
        config,
        recall_target=options.oos_recall_target,
        precision_target=options.oos_precision_target,
    )
    config.calibration = Calibration(temperature=temperature, threshold=threshold, rule=rule)
    metrics = {
        "val_accuracy": float((val_logits.argmax(-1) == val_targets).float().mean()),
        "val_ece_before_calibration": expected_calibration_error(
            torch.softmax(val_logits, -1).numpy(), val_targets.numpy()
        ),
        "val_ece": expected_calibration_error(probabilities, val_targets.numpy()),
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


def _fit(
    model: FusionModel,
    values: dict[str, torch.Tensor],
    present: dict[str, torch.Tensor],
    parts: dict[str, str],
    y: torch.Tensor,
    split: tuple[np.ndarray, np.ndarray],
    options: TrainingOptions,
    outliers: _OutlierMaker | None,
    progress: bool,
) -> list[dict[str, float]]:
    train_rows, val_rows = split
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=options.learning_rate, weight_decay=options.weight_decay
    )
    steps_per_epoch = math.ceil(len(train_rows) / options.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=options.learning_rate,
        total_steps=options.epochs * steps_per_epoch,
        pct_start=WARMUP_FRACTION,
    )
    warmup_epochs = int(options.epochs * WARMUP_FRACTION)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=options.label_smoothing)
    generator = torch.Generator().manual_seed(options.seed)
    best_state, best_key, stale = None, (-1.0, 0.0), 0
    history: list[dict[str, float]] = []
    bar = tqdm(range(options.epochs), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        order = torch.from_numpy(train_rows)[torch.randperm(len(train_rows), generator=generator)]
        total_loss = 0.0
        for start in range(0, len(order), options.batch_size):
            rows = order[start : start + options.batch_size]
            batch_values = {n: v[rows] for n, v in values.items()}
            batch_present = _modality_dropout(
                {n: m[rows] for n, m in present.items()}, parts, options.modality_dropout, generator
            )
            batch_y = y[rows]
            if outliers is not None:
                batch_values, batch_present, batch_y = outliers.extend(
                    batch_values, batch_present, batch_y, generator
                )
            # Each member learns on its own (averaging first would let members lean on each
            # other and lose the ensemble's diversity).
            member_logits = model.member_logits(batch_values, batch_present)
            loss = torch.stack([loss_fn(logits, batch_y) for logits in member_logits]).mean()
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(rows)
        val_loss, val_accuracy = _validate(model, values, present, parts, y, val_rows)
        record = {
            "epoch": epoch + 1,
            "train_loss": total_loss / len(train_rows),
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
        }
        history.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", val_acc=f"{val_accuracy:.3f}")
        key = (val_accuracy, -val_loss)
        if key > best_key:
            best_key, stale = key, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elif epoch >= warmup_epochs:
            # Before the learning-rate peak validation accuracy is noisy: do not stop there.
            stale += 1
            if stale >= options.patience:
                break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


@dataclass
class _OutlierMaker:
    """Pseudo out-of-scope rows: convex mixtures of in-scope rows of two different intents
    (after Zhan et al., 2021, "Out-of-Scope Intent Detection with Self-Supervision and
    Discriminative Training"). Real out-of-scope training rows are few (CLINC150 has 100);
    mixtures fill the space between intents, where a real out-of-scope question lands."""

    oos_index: int
    rate: float

    def extend(
        self,
        values: dict[str, torch.Tensor],
        present: dict[str, torch.Tensor],
        y: torch.Tensor,
        generator: torch.Generator,
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], torch.Tensor]:
        in_scope = torch.nonzero(y != self.oos_index).squeeze(1)
        count = round(self.rate * len(y))
        if count == 0 or len(in_scope) < 2:
            return values, present, y
        first = in_scope[torch.randint(len(in_scope), (count,), generator=generator)]
        second = in_scope[torch.randint(len(in_scope), (count,), generator=generator)]
        shared = torch.stack([present[n][first] & present[n][second] for n in present], dim=1)
        usable = (y[first] != y[second]) & shared.any(dim=1)
        first, second = first[usable], second[usable]
        mix = 0.3 + 0.4 * torch.rand(len(first), 1, generator=generator)
        mixed_values = {
            name: torch.cat([v, mix * v[first] + (1 - mix) * v[second]])
            for name, v in values.items()
        }
        mixed_present = {
            name: torch.cat([mask, mask[first] & mask[second]]) for name, mask in present.items()
        }
        outlier_y = torch.full((len(first),), self.oos_index, dtype=y.dtype)
        return mixed_values, mixed_present, torch.cat([y, outlier_y])


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


def _modality_dropout(
    present: dict[str, torch.Tensor],
    parts: dict[str, str],
    rate: float,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Hide present parts, and slots within a part, at random, so any subset works later.

    Real messages lack whole parts (no image) and parts lack slots (no OCR text in a photo,
    no English slot for a Spanish text): both levels are drawn at ``rate``, and a row always
    keeps at least one slot of each part it keeps and at least one part.
    """
    if rate == 0 or len(present) < 2:
        return present
    names = list(present)
    kept = torch.stack([present[name] for name in names], dim=1)
    part_names = sorted({parts[name] for name in names})
    membership = torch.tensor([[parts[name] == part for name in names] for part in part_names])
    for columns in membership:
        kept[:, columns] = _hide(kept[:, columns], rate, generator)
    part_present = (kept.unsqueeze(1) & membership).any(dim=-1)
    part_kept = _hide(part_present, rate, generator)
    kept &= (part_kept.float() @ membership.float()).bool()
    return {name: kept[:, i] for i, name in enumerate(names)}


def _hide(present: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """``present`` ``(rows, columns)`` with each column hidden at ``rate``; a row left empty
    keeps what it had."""
    kept = present & (torch.rand(present.shape, generator=generator) >= rate)
    emptied = ~kept.any(dim=1)
    kept[emptied] = present[emptied]
    return kept


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


def choose_threshold(
    probabilities: np.ndarray,
    targets: np.ndarray,
    config: FusionConfig,
    *,
    recall_target: float | None = None,
    precision_target: float | None = None,
) -> tuple[float, str]:
    """The confidence under which the bot should say "I don't know", and the rule used.

    With out-of-scope rows: by default the threshold that maximises the mean of in-scope
    accuracy (answered and right) and out-of-scope recall; with a recall target, the one with
    the best in-scope accuracy among those reaching it; with a precision target, the best
    out-of-scope recall among those whose rejections are out-of-scope often enough. Without
    out-of-scope rows: answer only where, on validation, the model is right more often than
    wrong at that confidence.
    """
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
    best_threshold, best_score = 0.0, (-np.inf, -np.inf)
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
                score = (min(recall, recall_target), accuracy)
            elif precision_target is not None:
                score = (min(precision, precision_target), recall)
            else:
                score = (accuracy + recall, 0.0)
        else:
            score = (float(correct.sum()) - float((answered & ~correct).sum()), 0.0)
        if score > best_score:
            best_threshold, best_score = float(threshold), score
    return best_threshold, rule


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
