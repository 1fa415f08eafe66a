"""``gated``: per-slot gates conditioned on every present slot, in the spirit of MAG-BERT.

Each slot token is scaled element-wise by a sigmoid gate computed from the token itself and a
context (the mean of the present tokens), so one modality can damp or amplify another; the
gated tokens of the present slots are summed.
"""

from __future__ import annotations

import torch
from torch import nn

from fusiondesk.service.understanding.fusion.strategies.base import Fusion


class GatedFusion(Fusion):
    def __init__(self, slots: int, width: int, dropout: float) -> None:
        super().__init__(slots, width, dropout)
        self.gate = nn.Linear(2 * width, width)
        self.slot_bias = nn.Parameter(torch.zeros(slots, width))
        self.out_dim = width

    def forward(self, tokens: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        weight = present.unsqueeze(-1).to(tokens.dtype)
        count = weight.sum(dim=1).clamp(min=1.0)
        context = (tokens * weight).sum(dim=1) / count
        gates = torch.sigmoid(
            self.gate(torch.cat([tokens, context.unsqueeze(1).expand_as(tokens)], dim=-1))
            + self.slot_bias
        )
        return (gates * tokens * weight).sum(dim=1) / count.sqrt()
