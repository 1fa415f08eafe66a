"""Screenshots of BANKING77 utterances, classified through the image path alone.

A text-only intent model is trained on BANKING77's training split (embeddings are cached, so
later runs skip that work). A fixed sample of 300 test utterances is rendered as screenshots by
``synth screenshot``'s renderer; each goes through the image plugin (decode, OCR, embedding)
and the model reads its OCR slot as text (the plugin embeds the message blocks of the read, not
the on-screen chrome). Prints the OCR character error rate (everything read against everything
drawn) and the image path's accuracy beside the text path's on the same sample (target: within
5 points).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from _edit_distance import edit_distance

from fusiondesk.plugins import Part
from fusiondesk.service.settings import Settings
from fusiondesk.service.synth.screenshot import ScreenshotRenderer
from fusiondesk.service.training import TrainingOptions, train_from_file
from fusiondesk.service.training.data import load_dataset
from fusiondesk.service.understanding.fusion import IntentClassifier
from fusiondesk.service.understanding.wiring import build_registry

BANKING77 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "banking77"
SAMPLE_SIZE = 300
SEED = 0
BATCH = 16


def character_error_rate(predicted: str, reference: str) -> float:
    """Levenshtein distance over the reference length, on case- and space-normalised text."""
    hypothesis, truth = " ".join(predicted.lower().split()), " ".join(reference.lower().split())
    return edit_distance(truth, hypothesis) / max(len(truth), 1)


def main() -> None:
    if not (BANKING77 / "train.csv").is_file():
        sys.exit(f"BANKING77 not found under {BANKING77}")
    settings = Settings()
    registry = build_registry(settings)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as model_dir:
        train_from_file(
            BANKING77 / "train.csv",
            Path(model_dir),
            registry,
            TrainingOptions(),
            cache_dir=settings.cache_dir,
            progress=False,
        )
        classifier = IntentClassifier.load(Path(model_dir))
    trained = time.perf_counter()

    test = load_dataset(BANKING77 / "test.csv").examples
    chosen = np.sort(np.random.default_rng(SEED).choice(len(test), SAMPLE_SIZE, replace=False))
    texts = [test[i].inputs["text"] for i in chosen]
    gold = [test[i].intent for i in chosen]
    renderer = ScreenshotRenderer(seed=SEED)
    shots = [renderer.render(text) for text in texts]

    text_plugin, image_plugin = registry.get("text"), registry.get("image")
    spaces = {name: spec.space for name, spec in registry.slot_specs().items()}
    text_slots = [
        encoding.slots
        for encoding in text_plugin.embed(
            [text_plugin.preprocess(Part("text", text=t)) for t in texts]
        )
    ]
    image_started = time.perf_counter()
    image_encodings = []
    for start in range(0, SAMPLE_SIZE, BATCH):
        payloads = [
            image_plugin.preprocess(Part("image", data=s.data))
            for s in shots[start : start + BATCH]
        ]
        image_encodings.extend(image_plugin.embed(payloads))
    image_seconds = time.perf_counter() - image_started
    image_slots = [encoding.slots for encoding in image_encodings]

    text_predicted = _predict(classifier, text_slots, spaces)
    image_predicted = _predict(classifier, image_slots, spaces)
    text_accuracy = float(np.mean([p == g for p, g in zip(text_predicted, gold, strict=True)]))
    image_accuracy = float(np.mean([p == g for p, g in zip(image_predicted, gold, strict=True)]))
    rates = [
        character_error_rate(encoding.details["ocr"]["text"], " ".join(shot.lines))
        for encoding, shot in zip(image_encodings, shots, strict=True)
    ]
    by_template: defaultdict[str, list[bool]] = defaultdict(list)
    for shot, predicted, expected in zip(shots, image_predicted, gold, strict=True):
        by_template[shot.template].append(predicted == expected)

    print(f"BANKING77: model trained on {BANKING77 / 'train.csv'} ({trained - started:.0f}s)")
    print(f"sample: {SAMPLE_SIZE} test utterances (seed {SEED}) rendered as screenshots")
    print(f"{'path':<28} {'accuracy':>8}")
    print(f"{'text (typed utterance)':<28} {text_accuracy:>8.4f}")
    print(f"{'image (screenshot -> OCR)':<28} {image_accuracy:>8.4f}")
    print(f"difference (points): {100 * (text_accuracy - image_accuracy):.1f}  (target: <= 5)")
    print(
        f"OCR character error rate (all text drawn): mean {np.mean(rates):.4f}, "
        f"median {np.median(rates):.4f}"
    )
    unread = sum(not classifier.readings(slots, spaces) for slots in image_slots)
    print(f"screenshots without any OCR text: {unread}")
    print(f"image path: {image_seconds / SAMPLE_SIZE * 1000:.0f} ms per screenshot (batch {BATCH})")
    for template, hits in sorted(by_template.items()):
        print(f"  {template:<8} n={len(hits):<4} accuracy {np.mean(hits):.4f}")


def _predict(
    classifier: IntentClassifier,
    batch: list[dict[str, np.ndarray]],
    spaces: dict[str, str | None],
) -> list[str | None]:
    """The predicted intent per row; None where the image gave the model nothing to read."""
    readable = [i for i, slots in enumerate(batch) if classifier.readings(slots, spaces)]
    probabilities = classifier.message_probabilities([batch[i] for i in readable], spaces)
    predicted: list[str | None] = [None] * len(batch)
    for row, scores in zip(readable, probabilities, strict=True):
        predicted[row] = classifier.intents[int(scores.argmax())]
    return predicted


if __name__ == "__main__":
    main()
