"""Modality dropout: parts of a message, and slots of a part, hidden at random in training."""

from __future__ import annotations

import torch


def modality_dropout(
    present: dict[str, torch.Tensor],
    parts: dict[str, str],
    rate: float,
    generator: torch.Generator,
) -> dict[str, torch.Tensor]:
    """Hide present parts, and slots within a part, at random, so any subset works later.

    Real messages lack whole parts (no image) and parts lack slots (no OCR text in a photo,
    no English slot for a Spanish text): both levels are drawn at ``rate``, and a row always
    keeps at least one slot of each part it keeps and at least one part.
    """
    if rate == 0 or len(present) < 2:
        return present
    names = list(present)
    kept = torch.stack([present[name] for name in names], dim=1)
    part_names = sorted({parts[name] for name in names})
    membership = torch.tensor([[parts[name] == part for name in names] for part in part_names])
    for columns in membership:
        kept[:, columns] = _hide(kept[:, columns], rate, generator)
    part_present = (kept.unsqueeze(1) & membership).any(dim=-1)
    part_kept = _hide(part_present, rate, generator)
    kept &= (part_kept.float() @ membership.float()).bool()
    return {name: kept[:, i] for i, name in enumerate(names)}


def _hide(present: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """``present`` ``(rows, columns)`` with each column hidden at ``rate``; a row left empty
    keeps what it had."""
    kept = present & (torch.rand(present.shape, generator=generator) >= rate)
    emptied = ~kept.any(dim=1)
    kept[emptied] = present[emptied]
    return kept
