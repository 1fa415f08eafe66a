"""The fusion model: any subset of embedding slots in, intent logits out.

Each slot is projected to a shared width; a missing slot is replaced by a learned "absent"
vector, so its (zero-filled) values cannot leak into the output. A fusion strategy
(``fusiondesk.service.understanding.fusion.strategies``) turns the slot tokens into one vector,
which feeds an MLP classifier. With ``shared_projections``, slots of one vector space (typed text,
voice
transcripts and OCR text all live in the text encoder's space) go through one projection, so
what the model learns from a transcript also serves typed text. With ``members`` > 1 the model
is a small deep ensemble: independently initialised heads whose logits are averaged.
The model is saved as ``model.safetensors`` plus a JSON ``config.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, Field, model_validator
from safetensors.torch import load_file, save_file
from torch import nn

from fusiondesk.service.understanding.fusion.strategies import Strategy, build_fusion

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 2
"""2: heads under ``members.N``, absent vectors apart from the (shareable) projections."""


class SlotConfig(BaseModel):
    name: str
    dim: int = Field(gt=0)
    space: str | None = None
    encoder: str | None = Field(
        default=None,
        description="The packaged text encoder that fills this slot ('minilm', 'mpnet'); "
        "None: the plugin's default (all-MiniLM-L6-v2, what every earlier model used).",
    )


class Calibration(BaseModel):
    """Temperature scaling and the out-of-scope threshold, fitted on a validation split."""

    temperature: float = Field(default=1.0, gt=0.0)
    threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    rule: str = Field(
        default="balanced",
        description="How the threshold was chosen: 'balanced_plateau_middle' (the default since "
        "issue 21; 'balanced' in older models: the lowest of equal thresholds), or a target like "
        "'oos_recall>=0.9'.",
    )


class FusionConfig(BaseModel):
    format_version: int = FORMAT_VERSION
    intents: list[str] = Field(min_length=2)
    slots: list[SlotConfig] = Field(min_length=1)
    strategy: Strategy = "concat"
    hidden_dim: int = Field(default=512, gt=0)
    dropout: float = Field(default=0.3, ge=0.0, lt=1.0)
    members: int = Field(default=1, ge=1, description="Heads averaged (a small deep ensemble).")
    shared_projections: bool = Field(
        default=False, description="Slots of one vector space share one projection."
    )
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

    @model_validator(mode="after")
    def _spaces_have_one_width(self) -> FusionConfig:
        if self.shared_projections:
            widths: dict[str, int] = {}
            for slot in self.slots:
                if slot.space is not None and widths.setdefault(slot.space, slot.dim) != slot.dim:
                    raise ValueError(f"slots of space {slot.space!r} differ in width")
        return self

    def projection_key(self, slot: SlotConfig) -> str:
        """The projection a slot goes through: its space's when shared, else its own."""
        if self.shared_projections and slot.space is not None:
            return f"space_{slot.space}"
        return slot.name


class Projection(nn.Module):
    def __init__(self, dim: int, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.project = nn.Linear(dim, width)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(self.project(self.norm(values)))


class FusionHead(nn.Module):
    """Slot projections, the fusion strategy and the classifier: one member of the model."""

    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        width = config.hidden_dim
        self.keys = {slot.name: config.projection_key(slot) for slot in config.slots}
        dims = {config.projection_key(slot): slot.dim for slot in config.slots}
        self.projections = nn.ModuleDict({key: Projection(dim, width) for key, dim in dims.items()})
        self.absent = nn.ParameterDict(
            {slot.name: nn.Parameter(torch.zeros(width)) for slot in config.slots}
        )
        self.fusion = build_fusion(config.strategy, len(config.slots), width, config.dropout)
        self.classifier = nn.Sequential(
            nn.Dropout(config.dropout),
            nn.Linear(self.fusion.out_dim, width),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(width, len(config.intents)),
        )

    def forward(
        self, values: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        tokens = []
        for name, key in self.keys.items():
            projected = self.projections[key](values[name])
            absent = self.absent[name].expand_as(projected)
            tokens.append(torch.where(present[name].unsqueeze(-1), projected, absent))
        mask = torch.stack([present[name] for name in self.keys], dim=1)
        logits: torch.Tensor = self.classifier(self.fusion(torch.stack(tokens, dim=1), mask))
        return logits


class FusionModel(nn.Module):
    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(FusionHead(config) for _ in range(config.members))

    @property
    def slot_names(self) -> list[str]:
        return [slot.name for slot in self.config.slots]

    def member_logits(
        self, values: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """``(members, batch, intents)``: each head's logits (training scores each alone)."""
        return torch.stack([member(values, present) for member in self.members])

    def forward(
        self, values: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """``values[slot]`` is ``(batch, dim)``; ``present[slot]`` a ``(batch,)`` bool mask."""
        if len(self.members) == 1:
            logits: torch.Tensor = self.members[0](values, present)
            return logits
        return self.member_logits(values, present).mean(dim=0)

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
        state = load_file(str(directory / WEIGHTS_FILE), device=device)
        if config.format_version < 2:
            state = _from_format_1(state)
            config.format_version = FORMAT_VERSION
        model = cls(config)
        model.load_state_dict(state)
        return model.to(device).eval()


def _from_format_1(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Format 1 had one head at the top level, each slot's absent vector in its projection."""
    upgraded = {}
    for key, tensor in state.items():
        if key.startswith("projections.") and key.endswith(".absent"):
            slot = key.removeprefix("projections.").removesuffix(".absent")
            upgraded[f"members.0.absent.{slot}"] = tensor
        else:
            upgraded[f"members.0.{key}"] = tensor
    return upgraded
