"""The router: each part to the plugin that claims it, the slots to the fusion model."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fusiondesk.plugins import Encoding, Part, PluginRegistry
from fusiondesk.service.errors import RequestRejectedError
from fusiondesk.service.understanding.batching import DrainingBatcher
from fusiondesk.service.understanding.executor import Executor
from fusiondesk.service.understanding.fusion import IntentClassifier, Prediction, RankedIntent
from fusiondesk.service.understanding.preparation import prepare_parts_off_loop

CLASSIFY_BATCH_SIZE = 256
CLASSIFY_ON_LOOP_UP_TO = 1
"""A lone message's compiled forward (about 0.25 ms just after the encoder, int8) runs on the
event loop: the thread hop it would take costs about as much, and moves it to a core whose
caches hold nothing of it. Under load messages queue up and go to a thread together; a torch
forward (not compiled) always takes the thread."""


@dataclass(frozen=True)
class PartResult:
    """What became of one part: which plugin took it and what it found (transcript, OCR...)."""

    type: str
    plugin: str
    slots: list[str]
    details: dict[str, Any]
    prediction: RankedIntent | None = None
    """What this part alone says (None when the model can read none of its slots): shows
    which parts drove the message's intent."""


@dataclass(frozen=True)
class Understanding:
    prediction: Prediction
    parts: list[PartResult]
    timings_ms: dict[str, float] = field(default_factory=dict)
    slots: dict[str, np.ndarray] = field(default_factory=dict)
    """The message's vectors by slot (parts filling one slot averaged)."""


class Router:
    def __init__(
        self, registry: PluginRegistry, executor: Executor, classifier: IntentClassifier
    ) -> None:
        self.registry = registry
        self.executor = executor
        self.classifier = classifier
        self._spaces = {name: spec.space for name, spec in registry.slot_specs().items()}
        # Concurrent messages share one classifier forward (and one thread hop) under load.
        # An item is a message's slots followed by each part's own slots.
        self._classify = DrainingBatcher[list[dict[str, np.ndarray]], list[Prediction | None]](
            self._predict,
            max_batch_size=CLASSIFY_BATCH_SIZE,
            on_loop_up_to=CLASSIFY_ON_LOOP_UP_TO if classifier.compiled else 0,
        )

    async def understand(self, parts: Sequence[Part]) -> Understanding:
        started = time.perf_counter()
        jobs = await prepare_parts_off_loop(self.registry, parts)
        prepared = time.perf_counter()
        encodings = await self.executor.encode(jobs)
        encoded = time.perf_counter()
        slots = merge_slots(encodings)
        if not self.classifier.readings(slots, self._spaces):
            if any(encoding.details.get("no_speech") for encoding in encodings):
                raise RequestRejectedError(
                    "No speech was heard in the audio, and nothing else in the message is usable.",
                    code="no_speech",
                )
            raise RequestRejectedError(
                "None of the message's parts produced anything the intent model understands "
                f"(got slots {sorted(slots)}; the model reads {self.classifier.model.slot_names}).",
                code="no_usable_content",
            )
        # A lone part's own reading is the message's: classified once.
        part_slots = [] if len(encodings) == 1 else [encoding.slots for encoding in encodings]
        prediction, *part_predictions = await self._classify.submit([slots, *part_slots])
        assert prediction is not None  # the message has a reading: checked above
        part_predictions = part_predictions or [prediction]
        done = time.perf_counter()
        results = [
            PartResult(
                part.type,
                job.plugin,
                sorted(encoding.slots),
                encoding.details,
                None if alone is None else RankedIntent(alone.intent, alone.confidence),
            )
            for part, job, encoding, alone in zip(
                parts, jobs, encodings, part_predictions, strict=True
            )
        ]
        timings = {
            "preprocess": (prepared - started) * 1000,
            "encode": (encoded - prepared) * 1000,
            "classify": (done - encoded) * 1000,
        }
        return Understanding(prediction, results, timings, slots)

    def _predict(
        self, batch: Sequence[list[dict[str, np.ndarray]]]
    ) -> list[list[Prediction | None]]:
        """Every readable slot set of the batch in one classifier forward; None where unreadable."""
        readable = [
            [bool(self.classifier.readings(slots, self._spaces)) for slots in item]
            for item in batch
        ]
        predictions = iter(
            self.classifier.predict_messages(
                [
                    slots
                    for item, flags in zip(batch, readable, strict=True)
                    for slots, flag in zip(item, flags, strict=True)
                    if flag
                ],
                self._spaces,
            )
        )
        return [[next(predictions) if flag else None for flag in flags] for flags in readable]


def merge_slots(encodings: Sequence[Encoding]) -> dict[str, np.ndarray]:
    """One vector per slot: parts that fill the same slot (two images) are averaged."""
    collected: defaultdict[str, list[np.ndarray]] = defaultdict(list)
    for encoding in encodings:
        for name, vector in encoding.slots.items():
            collected[name].append(vector)
    return {name: np.mean(vectors, axis=0) for name, vectors in collected.items()}
