"""``weighted_sum``: one learned weight per slot, renormalised over the slots present."""

from __future__ import annotations

import torch
from torch import nn

from fusiondesk.service.understanding.fusion.strategies.base import Fusion


class WeightedSumFusion(Fusion):
    def __init__(self, slots: int, width: int, dropout: float) -> None:
        super().__init__(slots, width, dropout)
        self.slot_logits = nn.Parameter(torch.zeros(slots))
        self.out_dim = width

    def forward(self, tokens: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        logits = self.slot_logits.expand(present.shape).masked_fill(~present, float("-inf"))
        weights = torch.softmax(logits, dim=-1)
        # A row with no slot at all would be all -inf (NaN weights); give it the absent tokens.
        weights = torch.where(present.any(-1, keepdim=True), weights, 1.0 / self.slots)
        return (weights.unsqueeze(-1) * tokens).sum(dim=1)
