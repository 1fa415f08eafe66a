"""Intent prediction on top of a trained fusion model: slot alignment, calibration, abstention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fusiondesk.service.errors import ModelNotFoundError
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE, FusionModel

RANKING_SIZE = 5


@dataclass(frozen=True)
class RankedIntent:
    intent: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    ranking: list[RankedIntent]
    out_of_scope: bool


class IntentClassifier:
    """Wraps a ``FusionModel`` with its calibration; thread-safe for concurrent ``predict``."""

    def __init__(self, model: FusionModel, *, threshold: float | None = None) -> None:
        self.model = model.eval()
        self.config = model.config
        self.threshold = threshold if threshold is not None else model.config.calibration.threshold
        self._space_of = {slot.name: slot.space for slot in model.config.slots}

    @classmethod
    def load(cls, directory: Path, *, threshold: float | None = None) -> IntentClassifier:
        if not (directory / CONFIG_FILE).is_file():
            raise ModelNotFoundError(
                f"No trained model in {directory}; train one with "
                f"`fusiondesk train DATA --out {directory}`."
            )
        return cls(FusionModel.load(directory), threshold=threshold)

    @property
    def intents(self) -> list[str]:
        return self.config.intents

    def align(
        self, slots: Mapping[str, np.ndarray], spaces: Mapping[str, str | None]
    ) -> dict[str, np.ndarray]:
        """Map produced slots onto the model's slots.

        A slot the model was not trained on still counts when it shares a vector space with a
        model slot that is otherwise empty: a text-only model reads a voice transcript as text.
        """
        aligned = {name: vector for name, vector in slots.items() if name in self._space_of}
        for name, vector in slots.items():
            space = spaces.get(name)
            if name in aligned or space is None:
                continue
            for model_slot, model_space in self._space_of.items():
                if model_space == space and model_slot not in aligned:
                    aligned[model_slot] = vector
                    break
        return aligned

    def tensors(
        self, batch: Sequence[Mapping[str, np.ndarray]]
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Stack aligned slot dicts into zero-filled value tensors and presence masks."""
        values: dict[str, torch.Tensor] = {}
        present: dict[str, torch.Tensor] = {}
        for slot in self.config.slots:
            matrix = np.zeros((len(batch), slot.dim), dtype=np.float32)
            mask = np.zeros(len(batch), dtype=bool)
            for row, slots in enumerate(batch):
                if slot.name in slots:
                    matrix[row] = slots[slot.name]
                    mask[row] = True
            values[slot.name] = torch.from_numpy(matrix)
            present[slot.name] = torch.from_numpy(mask)
        return values, present

    def probabilities(self, batch: Sequence[Mapping[str, np.ndarray]]) -> np.ndarray:
        values, present = self.tensors(batch)
        with torch.inference_mode():
            logits = self.model(values, present) / self.config.calibration.temperature
            return torch.softmax(logits, dim=-1).numpy()

    def predict(self, batch: Sequence[Mapping[str, np.ndarray]]) -> list[Prediction]:
        if any(not slots for slots in batch):
            raise ValueError("every message needs at least one slot the model understands")
        return [self._prediction(row) for row in self.probabilities(batch)]

    def _prediction(self, probabilities: np.ndarray) -> Prediction:
        order = np.argsort(-probabilities)[:RANKING_SIZE]
        ranking = [RankedIntent(self.intents[i], float(probabilities[i])) for i in order]
        best = ranking[0]
        out_of_scope = (
            best.intent == self.config.out_of_scope_intent or best.confidence < self.threshold
        )
        return Prediction(best.intent, best.confidence, ranking, out_of_scope)
