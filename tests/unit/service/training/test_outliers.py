"""Synthetic out-of-scope rows lie between two in-scope rows of different intents."""

from __future__ import annotations

import torch

from fusiondesk.service.training.outliers import OutlierMaker


def test_synthetic_outliers_mix_two_intents_as_out_of_scope() -> None:
    values = {"text": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])}
    present = {"text": torch.tensor([True, True, True])}
    y = torch.tensor([0, 1, 2])  # 2 is out-of-scope
    maker = OutlierMaker(oos_index=2, rate=4.0 / 3)
    out_values, out_present, out_y = maker.extend(values, present, y, torch.Generator())
    extra = out_values["text"][3:]
    assert len(out_y) > 3 and (out_y[3:] == 2).all() and out_present["text"].all()
    # Each extra row lies strictly between the two in-scope rows (never the OOS row).
    assert ((extra > 0.29) & (extra < 0.71)).all()
    assert torch.allclose(extra.sum(dim=1), torch.ones(len(extra)))
