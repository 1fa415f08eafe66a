"""The fusion model's forward as an ONNX Runtime graph, for serving on CPU.

Through torch, a single message's forward costs about 0.45 ms of CPU in a dozen small
operators, each dispatched from Python and spread over torch's thread pool, which on a busy
two-core machine waits for a core at every operator (p95 30 ms measured under load). The same
weights as one graph on one thread cost about 0.14 ms (same probabilities to ~1e-6), so the
serving path exports it once per loaded model. Training and evaluation keep torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from fusiondesk.plugins.onnx_session import export_session
from fusiondesk.service.understanding.fusion.model import FusionModel

THREADS = 1
"""A forward is a few small matrix products: a second thread costs more to wake than it saves,
even for a batch of a few hundred readings."""
LOGITS = "logits"


class _FlatInputs(nn.Module):
    """The model with positional inputs (values per slot, then presence per slot): the
    exporter traces tensors, not dictionaries."""

    def __init__(self, model: FusionModel) -> None:
        super().__init__()
        self.model = model
        self.slots = model.slot_names

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        count = len(self.slots)
        values = dict(zip(self.slots, tensors[:count], strict=True))
        present = dict(zip(self.slots, tensors[count:], strict=True))
        logits: torch.Tensor = self.model(values, present)
        return logits


class FusionGraph:
    """``logits(values, present)`` of a fusion model, computed by ONNX Runtime."""

    def __init__(self, session: Any, slots: Sequence[str]) -> None:
        self._session = session
        self.slots = list(slots)

    @classmethod
    def export(
        cls,
        model: FusionModel,
        example: tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]],
        *,
        int8: bool = False,
    ) -> FusionGraph | None:
        """``model``'s graph (None: keep torch); ``example`` is a batch of two or more rows.
        ``int8``: its weights quantised (see ``IntentClassifier.compile``)."""
        slots = model.slot_names
        values, present = example
        names = [*(_value_name(slot) for slot in slots), *(_present_name(slot) for slot in slots)]
        session = export_session(
            _FlatInputs(model),
            [
                *(torch.from_numpy(values[slot]) for slot in slots),
                *(torch.from_numpy(present[slot]) for slot in slots),
            ],
            input_names=names,
            output_name=LOGITS,
            dynamic_axes={name: {0: "batch"} for name in (*names, LOGITS)},
            threads=THREADS,
            int8=int8,
        )
        return None if session is None else cls(session, slots)

    def logits(
        self, values: Mapping[str, np.ndarray], present: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        feed = {_value_name(slot): values[slot] for slot in self.slots}
        feed |= {_present_name(slot): present[slot] for slot in self.slots}
        [logits] = self._session.run([LOGITS], feed)
        return np.asarray(logits, dtype=np.float32)


def _value_name(slot: str) -> str:
    return f"value:{slot}"


def _present_name(slot: str) -> str:
    return f"present:{slot}"
