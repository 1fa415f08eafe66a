"""Intent prediction on top of a trained fusion model: slot alignment, calibration, abstention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fusiondesk.service.errors import ModelNotFoundError
from fusiondesk.service.understanding.fusion.graph import FusionGraph
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
        self._graph: FusionGraph | None = None

    @classmethod
    def load(cls, directory: Path, *, threshold: float | None = None) -> IntentClassifier:
        if not (directory / CONFIG_FILE).is_file():
            raise ModelNotFoundError(
                f"No trained model in {directory}; train one with "
                f"`fusiondesk train DATA --out {directory}`."
            )
        return cls(FusionModel.load(directory), threshold=threshold)

    def compile(self, *, int8: bool = False) -> IntentClassifier:
        """Serve forwards from an ONNX Runtime graph of the weights (see ``graph``), when the
        model is on the CPU and exports; about a second, so only servers pay it.

        ``int8``: the graph's weights quantised to int8. A message's forward runs right after
        the encoder has streamed its own weights through the caches, so the head's weights come
        from memory every time: a quarter of the bytes is about half the time (0.25 against
        0.46 ms measured), for probabilities within about 2e-3 of the float ones.
        """
        if next(self.model.parameters()).device.type == "cpu":
            self._graph = FusionGraph.export(self.model, self.arrays([{}, {}]), int8=int8)
        return self

    @property
    def compiled(self) -> bool:
        return self._graph is not None

    @property
    def intents(self) -> list[str]:
        return self.config.intents

    def readings(
        self, slots: Mapping[str, np.ndarray], spaces: Mapping[str, str | None]
    ) -> list[dict[str, np.ndarray]]:
        """The ways the model reads a message's slots; empty when it can read none of them.

        Slots the model has go in as they are: a model trained on several slots weighs them as
        it learned. A slot it was not trained on still counts when it shares a vector space with
        one of its slots: a text-only model reads a voice transcript or OCR text as text. The
        first reading fills each such model slot that is otherwise empty; every text-space slot
        left over gets a reading of its own in that model slot's place, so a caption never
        silences an attachment. ``combine_readings`` then weighs the readings.
        """
        first = {name: vector for name, vector in slots.items() if name in self._space_of}
        base = dict(first)
        left_over: list[tuple[str, np.ndarray]] = []
        for name, vector in slots.items():
            space = spaces.get(name)
            if name in self._space_of or space is None:
                continue
            targets = [slot for slot, slot_space in self._space_of.items() if slot_space == space]
            if not targets:
                continue
            empty = [slot for slot in targets if slot not in first]
            if empty:
                first[empty[0]] = vector
            else:
                left_over.append((targets[0], vector))
        readings = [first] if first else []
        readings.extend(base | {slot: vector} for slot, vector in left_over)
        return readings

    def message_probabilities(
        self,
        messages: Sequence[Mapping[str, np.ndarray]],
        spaces: Mapping[str, str | None],
    ) -> np.ndarray:
        """Calibrated probabilities per message, all readings of the batch in one forward.

        A message the model can read nothing of gets its prior (every slot absent), as
        evaluation counts it; the router refuses such a message before it gets here.
        """
        per_message = [self.readings(slots, spaces) or [{}] for slots in messages]
        if not per_message:
            return np.zeros((0, len(self.intents)), dtype=np.float32)
        flat = self.probabilities([reading for readings in per_message for reading in readings])
        combined, start = [], 0
        for readings in per_message:
            combined.append(combine_readings(flat[start : start + len(readings)]))
            start += len(readings)
        return np.stack(combined)

    def predict_messages(
        self,
        messages: Sequence[Mapping[str, np.ndarray]],
        spaces: Mapping[str, str | None],
    ) -> list[Prediction]:
        return [self._prediction(row) for row in self.message_probabilities(messages, spaces)]

    def arrays(
        self, batch: Sequence[Mapping[str, np.ndarray]]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Stack aligned slot dicts into zero-filled value matrices and presence masks."""
        values: dict[str, np.ndarray] = {}
        present: dict[str, np.ndarray] = {}
        for slot in self.config.slots:
            matrix = np.zeros((len(batch), slot.dim), dtype=np.float32)
            mask = np.zeros(len(batch), dtype=bool)
            for row, slots in enumerate(batch):
                if slot.name in slots:
                    matrix[row] = slots[slot.name]
                    mask[row] = True
            values[slot.name] = matrix
            present[slot.name] = mask
        return values, present

    def probabilities(self, batch: Sequence[Mapping[str, np.ndarray]]) -> np.ndarray:
        values, present = self.arrays(batch)
        if self._graph is not None:
            logits = self._graph.logits(values, present)
        else:
            with torch.inference_mode():
                logits = self.model(
                    {name: torch.from_numpy(matrix) for name, matrix in values.items()},
                    {name: torch.from_numpy(mask) for name, mask in present.items()},
                ).numpy()
        return softmax(logits / self.config.calibration.temperature)

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


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum so no exponent overflows."""
    exponents = np.exp(logits - logits.max(axis=-1, keepdims=True))
    normalised: np.ndarray = exponents / exponents.sum(axis=-1, keepdims=True)
    return normalised


def combine_readings(probabilities: np.ndarray) -> np.ndarray:
    """One distribution from a message's readings ``(readings, intents)``: the surest wins.

    Chosen on bench/fusion_messages.py (BANKING77 test utterances with espeak-ng voice notes
    and rendered screenshots; docs/training.md has the table): a vague caption ("hi", "see
    attached") is read with low confidence next to an informative attachment, so the most
    confident reading speaks for the message.
    """
    surest: np.ndarray = probabilities[int(probabilities.max(axis=1).argmax())]
    return surest
