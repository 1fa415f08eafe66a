"""The interface every fusion strategy implements."""

from __future__ import annotations

import torch
from torch import nn


class Fusion(nn.Module):
    """``(tokens (batch, slots, width), present (batch, slots))`` -> ``(batch, out_dim)``."""

    out_dim: int

    def __init__(self, slots: int, width: int, dropout: float) -> None:
        super().__init__()
        self.slots = slots
        self.width = width

    def forward(self, tokens: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
