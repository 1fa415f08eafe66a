"""``attention``: a small transformer over slot tokens with a learned [CLS] token.

Each slot token gets a learned slot-type embedding; absent slots are hidden by the key padding
mask, and the [CLS] token (never masked) reads the fused vector.
"""

from __future__ import annotations

import torch
from torch import nn

from fusiondesk.service.understanding.fusion.strategies.base import Fusion

HEADS = 4
LAYERS = 2


class AttentionFusion(Fusion):
    def __init__(self, slots: int, width: int, dropout: float) -> None:
        super().__init__(slots, width, dropout)
        self.cls = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.slot_type = nn.Parameter(torch.randn(1, slots, width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d_model=width,
            nhead=HEADS if width % HEADS == 0 else 1,
            dim_feedforward=2 * width,
            dropout=dropout / 2,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.out_dim = width

    def forward(self, tokens: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        batch = tokens.shape[0]
        sequence = torch.cat([self.cls.expand(batch, -1, -1), tokens + self.slot_type], dim=1)
        padding = torch.cat([present.new_zeros(batch, 1), ~present], dim=1)
        encoded: torch.Tensor = self.encoder(sequence, src_key_padding_mask=padding)
        fused: torch.Tensor = self.norm(encoded[:, 0])
        return fused
