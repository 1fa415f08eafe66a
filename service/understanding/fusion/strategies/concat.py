"""``concat``: the classic early fusion, every slot token side by side."""

from __future__ import annotations

import torch

from fusiondesk.service.understanding.fusion.strategies.base import Fusion


class ConcatFusion(Fusion):
    def __init__(self, slots: int, width: int, dropout: float) -> None:
        super().__init__(slots, width, dropout)
        self.out_dim = slots * width

    def forward(self, tokens: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        # Absent slots contribute their learned "absent" vector, so the layout stays fixed.
        return tokens.flatten(start_dim=1)
