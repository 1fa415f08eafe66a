"""Fusion strategies: how the projected slot tokens become one vector for the classifier.

Every strategy receives ``tokens`` ``(batch, slots, width)`` — already projected, with each
absent slot replaced by its learned "absent" vector — and ``present`` ``(batch, slots)``. The
projection's replacement is what guarantees that a masked slot's values cannot reach the
output; strategies that can also ignore absent slots (weights, gates, attention) do so.
"""

from __future__ import annotations

from typing import Literal, get_args

from fusiondesk.service.understanding.fusion.strategies.attention import AttentionFusion
from fusiondesk.service.understanding.fusion.strategies.base import Fusion
from fusiondesk.service.understanding.fusion.strategies.concat import ConcatFusion
from fusiondesk.service.understanding.fusion.strategies.gated import GatedFusion
from fusiondesk.service.understanding.fusion.strategies.weighted_sum import WeightedSumFusion

Strategy = Literal["concat", "weighted_sum", "gated", "attention"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)

_BUILDERS: dict[str, type[Fusion]] = {
    "concat": ConcatFusion,
    "weighted_sum": WeightedSumFusion,
    "gated": GatedFusion,
    "attention": AttentionFusion,
}


def build_fusion(strategy: Strategy, slots: int, width: int, dropout: float) -> Fusion:
    return _BUILDERS[strategy](slots, width, dropout)


__all__ = ["STRATEGIES", "Fusion", "Strategy", "build_fusion"]
