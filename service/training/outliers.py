"""Synthetic out-of-scope rows mixed from in-scope rows of two different intents."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class OutlierMaker:
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
        """The batch with its mixed rows appended (labelled ``oos_index``)."""
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
