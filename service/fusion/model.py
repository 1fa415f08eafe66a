"""The fusion model: any subset of embedding slots in, intent logits out.

Each slot is projected to a shared width; a missing slot is replaced by a learned "absent"
vector, so its (zero-filled) values cannot leak into the output. A fusion strategy
(``service.fusion.strategies``) turns the slot tokens into one vector, which feeds an MLP
classifier. The model is saved as ``model.safetensors`` plus a JSON ``config.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field
from safetensors.torch import load_file, save_file
from torch import nn

from service.fusion.strategies import Strategy, build_fusion

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


class SlotConfig(BaseModel):
    name: str
    dim: int = Field(gt=0)
    space: str | None = None


class Calibration(BaseModel):
    """Temperature scaling and the out-of-scope threshold, fitted on a validation split."""

    temperature: float = Field(default=1.0, gt=0.0)
    threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    rule: str = Field(
        default="balanced",
        description="How the threshold was chosen: 'balanced', or a target like 'oos_recall>=0.9'.",
    )


class FusionConfig(BaseModel):
    format_version: int = FORMAT_VERSION
    intents: list[str] = Field(min_length=2)
    slots: list[SlotConfig] = Field(min_length=1)
    strategy: Strategy = "concat"
    hidden_dim: int = Field(default=512, gt=0)
    dropout: float = Field(default=0.3, ge=0.0, lt=1.0)
    calibration: Calibration = Field(default_factory=Calibration)
    out_of_scope_intent: str | None = Field(
        default=None, description="An explicit out-of-scope class in the training data, if any."
    )
    plugin_settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Plugin name -> settings the plugin needs to serve this model (a fine-tuned "
        "encoder's directory, relative to the model directory; the multilingual slot).",
    )
    metadata: dict[str, object] = Field(default_factory=dict)


class SlotProjection(nn.Module):
    """Projects one slot to the shared width, or yields a learned vector when it is absent."""

    def __init__(self, dim: int, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.project = nn.Linear(dim, width)
        self.absent = nn.Parameter(torch.zeros(width))

    def forward(self, values: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        projected = nn.functional.gelu(self.project(self.norm(values)))
        return torch.where(present.unsqueeze(-1), projected, self.absent.expand_as(projected))


class FusionModel(nn.Module):
    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        self.config = config
        width = config.hidden_dim
        self.projections = nn.ModuleDict(
            {slot.name: SlotProjection(slot.dim, width) for slot in config.slots}
        )
        self.fusion = build_fusion(config.strategy, len(config.slots), width, config.dropout)
        self.classifier = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(self.fusion.out_dim, width),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(width, len(config.intents)),
        )

    @property
    def slot_names(self) -> list[str]:
        return [slot.name for slot in self.config.slots]

    def forward(
        self, values: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """``values[slot]`` is ``(batch, dim)``; ``present[slot]`` a ``(batch,)`` bool mask."""
        tokens = torch.stack(
            [self.projections[name](values[name], present[name]) for name in self.slot_names],
            dim=1,
        )
        mask = torch.stack([present[name] for name in self.slot_names], dim=1)
        logits: torch.Tensor = self.classifier(self.fusion(tokens, mask))
        return logits

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        save_file(
            {name: tensor.contiguous() for name, tensor in self.state_dict().items()},
            str(directory / WEIGHTS_FILE),
        )
        (directory / CONFIG_FILE).write_text(self.config.model_dump_json(indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path, *, device: str = "cpu") -> FusionModel:
        config = FusionConfig.model_validate(json.loads((directory / CONFIG_FILE).read_text()))
        model = cls(config)
        model.load_state_dict(load_file(str(directory / WEIGHTS_FILE), device=device))
        return model.to(device).eval()
