"""The knobs of a training run (the CLI, benches and the demo fill them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from fusiondesk.service.understanding.fusion.strategies import Strategy


def _share_target(description: str) -> Any:
    """An optional share in (0, 1] that the out-of-scope threshold must reach."""
    return Field(default=None, gt=0, le=1, description=description)


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
    oos_recall_target: float | None = _share_target(
        "Pick the threshold that keeps the most in-scope answers right while rejecting at "
        "least this share of validation out-of-scope rows."
    )
    oos_precision_target: float | None = _share_target(
        "Pick the threshold with the best out-of-scope recall whose rejections are "
        "out-of-scope at least this often (validation)."
    )
    slots: list[str] | None = Field(
        default=None,
        description="Train on these slots only (None: every slot the data gives). The demo keeps "
        "the text-space slots: with a few synthetic voice notes and screenshots per intent, the "
        "acoustic and visual slots cost more accuracy than they add.",
    )
