"""Messages of several parts on BANKING77: does every part count?

A fixed sample of BANKING77 test utterances becomes messages: the typed text, a voice note of it
(espeak-ng, clear delivery as in bench/voice_accuracy.py) and a screenshot of it (``synth
screenshot``'s renderer), plus a vague caption drawn from lines no model trained on ("hey",
"any idea?"). Accuracy is printed for the 8 combinations of parts, for two models:

* text-only: trained on train.csv's 10,003 texts (shared with bench/voice_accuracy.py);
* all slots: the same texts plus ``--train-per-intent`` messages per intent made by
  ``fusiondesk.service.synth.messages`` (caption, voice note, screenshot); ``--slots`` trains
  it on some slots alone (the demo's text-space slots: ``text voice_transcript image_text``).

For the text-only model it also prints the rules measured for reading several text-space parts
(the shipped one is ``combine_readings``: the surest reading wins). Media, transcripts and OCR
are cached under FUSIONDESK_HOME/cache/fusion-messages, so reruns are quick.

    python bench/fusion_messages.py [--sample 300] [--train-per-intent 4] [--slots NAME ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.voice_accuracy import DATA, clear_delivery  # noqa: E402
from fusiondesk.service.settings import Settings  # noqa: E402
from fusiondesk.service.synth.messages import write_attachment_messages  # noqa: E402
from fusiondesk.service.synth.screenshot import ScreenshotRenderer  # noqa: E402
from fusiondesk.service.synth.voice import espeak_available, speak  # noqa: E402
from fusiondesk.service.training import TrainingOptions, featurize, train_from_file  # noqa: E402
from fusiondesk.service.training.data import load_dataset  # noqa: E402
from fusiondesk.service.training.features import Features  # noqa: E402
from fusiondesk.service.training.trainer import split_rows  # noqa: E402
from fusiondesk.service.understanding.fusion import IntentClassifier  # noqa: E402
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE  # noqa: E402
from fusiondesk.service.understanding.wiring import build_registry  # noqa: E402

BANKING77 = DATA / "banking77"
HELD_OUT_CAPTIONS = (
    "hey",
    "see the screenshot",
    "any idea?",
    "can you check this for me",
    "look",
    "this is the problem",
    "please help me with this",
    "here you go",
)
"""Vague lines for the test messages, none of them among the training captions."""
COMBINATIONS: dict[str, tuple[str, ...]] = {
    "text alone": ("text",),
    "voice alone": ("voice",),
    "screenshot alone": ("image",),
    "vague caption + voice": ("caption", "voice"),
    "vague caption + screenshot": ("caption", "image"),
    "true text + voice": ("text", "voice"),
    "true text + screenshot": ("text", "image"),
    "voice + screenshot": ("voice", "image"),
}
Slots = dict[str, np.ndarray]
Rule = Callable[[IntentClassifier, Sequence[Slots], dict[str, str | None]], np.ndarray]


def test_messages(sample: int, seed: int, directory: Path, split: str) -> tuple[Path, Path]:
    """The sample's messages (text, voice note, screenshot) and its vague captions, as JSONL.

    ``split``: ``test`` draws from test.csv; ``validation`` from the rows of train.csv that the
    text-only model held out for its own validation (never trained on), to decide a rule on.
    """
    source = BANKING77 / ("test.csv" if split == "test" else "train.csv")
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    candidates = np.arange(len(rows)) if split == "test" else held_out_rows(rows)
    rng = np.random.default_rng(seed)
    chosen = sorted(int(i) for i in rng.choice(candidates, size=sample, replace=False))
    picked = [(index, *rows[index]) for index in chosen]
    return write_test_messages(picked, seed, rng, directory)


def held_out_rows(rows: Sequence[tuple[str, str]]) -> np.ndarray:
    """The rows ``train_from_file`` holds out for validation (its stratified split)."""
    intents = sorted({intent for _, intent in rows})
    targets = np.array([intents.index(intent) for _, intent in rows])
    return split_rows(targets, TrainingOptions())[1]


def write_test_messages(
    rows: Sequence[tuple[int, str, str]], seed: int, rng: np.random.Generator, directory: Path
) -> tuple[Path, Path]:
    """``(key, text, intent)`` rows as messages and their vague captions (media named by key);
    each voice note's delivery is drawn from ``rng``."""
    renderer = ScreenshotRenderer(seed=seed)
    media = directory / "media"
    media.mkdir(parents=True, exist_ok=True)
    messages, captions = [], []
    for number, (key, text, intent) in enumerate(rows):
        audio, image = media / f"{key:05d}.wav", media / f"{key:05d}.png"
        delivery = clear_delivery(rng)
        if not audio.is_file():
            audio.write_bytes(speak(text, delivery, seed=seed + number))
        shot = renderer.render(text)
        if not image.is_file():
            image.write_bytes(shot.data)
        relative = {"audio": f"media/{audio.name}", "image": f"media/{image.name}"}
        messages.append({"text": text, **relative, "intent": intent})
        captions.append(
            {"text": HELD_OUT_CAPTIONS[number % len(HELD_OUT_CAPTIONS)], "intent": intent}
        )
    paths = directory / "messages.jsonl", directory / "captions.jsonl"
    for path, lines in zip(paths, (messages, captions), strict=True):
        path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return paths


def part_slots(features: Features, captions: Features) -> dict[str, list[Slots]]:
    """Per part kind (text, caption, voice, image), each message's slots from that part."""
    rows = features.as_slot_dicts()
    by_part: dict[str, list[Slots]] = {
        kind: [{n: v for n, v in row.items() if features.parts.get(n) == plugin} for row in rows]
        for kind, plugin in (("text", "text"), ("voice", "voice"), ("image", "image"))
    }
    by_part["caption"] = captions.as_slot_dicts()
    return by_part


def messages_of(by_part: dict[str, list[Slots]], kinds: tuple[str, ...]) -> list[Slots]:
    """The messages made of these parts (a caption goes in the text slot, as typed text)."""
    merged: list[Slots] = [{} for _ in by_part["text"]]
    for kind in kinds:
        for message, slots in zip(merged, by_part[kind], strict=True):
            message.update(slots)
    return merged


def shipped(
    classifier: IntentClassifier, messages: Sequence[Slots], spaces: dict[str, str | None]
) -> np.ndarray:
    return classifier.message_probabilities(messages, spaces)


def by_readings(combine: Callable[[np.ndarray], np.ndarray]) -> Rule:
    """A rule that combines each message's readings (see ``IntentClassifier.readings``)."""

    def rule(
        classifier: IntentClassifier, messages: Sequence[Slots], spaces: dict[str, str | None]
    ) -> np.ndarray:
        per_message = [classifier.readings(slots, spaces) or [{}] for slots in messages]
        flat = classifier.probabilities(
            [reading for readings in per_message for reading in readings]
        )
        combined, start = [], 0
        for readings in per_message:
            combined.append(combine(flat[start : start + len(readings)]))
            start += len(readings)
        return np.stack(combined)

    return rule


def mean_of_vectors(
    classifier: IntentClassifier, messages: Sequence[Slots], spaces: dict[str, str | None]
) -> np.ndarray:
    """Every text-space vector averaged into the text slot (close to joining the texts)."""
    averaged = []
    for slots in messages:
        texts = [v for n, v in slots.items() if spaces.get(n) == "text"]
        others = {n: v for n, v in slots.items() if spaces.get(n) != "text"}
        averaged.append(others | ({"text": np.mean(texts, axis=0)} if texts else {}))
    return classifier.message_probabilities(averaged, spaces)


def _normalised(scores: np.ndarray) -> np.ndarray:
    normalised: np.ndarray = scores / scores.sum()
    return normalised


def _typed_text_unless_surer(readings: np.ndarray, margin: float) -> np.ndarray:
    """The first reading (typed text) unless another's top intent is surer by over ``margin``."""
    sureness = readings.max(axis=1)
    surest = int(sureness.argmax())
    chosen: np.ndarray = readings[surest if sureness[surest] > sureness[0] + margin else 0]
    return chosen


TEXT_ONLY_RULES: dict[str, Rule] = {
    "caption fills only an empty slot (before)": by_readings(lambda p: p[0]),
    "vectors averaged": mean_of_vectors,
    "probabilities averaged": by_readings(lambda p: p.mean(axis=0)),
    "confidence-weighted probabilities": by_readings(
        lambda p: (p * p.max(axis=1, keepdims=True)).sum(axis=0)
    ),
    "probabilities multiplied": by_readings(lambda p: _normalised(p.prod(axis=0))),
    "surest reading wins (shipped)": shipped,
    **{
        f"typed text unless another is surer by {margin:.2f}": by_readings(
            lambda p, margin=margin: _typed_text_unless_surer(p, margin)
        )
        for margin in (0.02, 0.05, 0.1, 0.2)
    },
}


def accuracy(probabilities: np.ndarray, intents: list[str], gold: list[str]) -> float:
    predicted = [intents[i] for i in probabilities.argmax(axis=1)]
    return 100 * float(np.mean([p == g for p, g in zip(predicted, gold, strict=True)]))


def all_slots_training_file(per_intent: int, seed: int, directory: Path) -> Path:
    """train.csv's texts plus ``per_intent`` attachment messages per intent, as one JSONL."""
    with (BANKING77 / "train.csv").open(encoding="utf-8", newline="") as handle:
        rows = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    rng = np.random.default_rng(seed)
    picked: list[tuple[str, str]] = []
    for intent in sorted({intent for _, intent in rows}):
        of_intent = [row for row in rows if row[1] == intent]
        picked.extend(
            of_intent[i] for i in sorted(rng.choice(len(of_intent), per_intent, replace=False))
        )
    attachments = write_attachment_messages(picked, directory / "attachments.jsonl", seed=seed)
    combined = directory / "train.jsonl"
    texts = "".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows)
    combined.write_text(texts + attachments.read_text(encoding="utf-8"), encoding="utf-8")
    return combined


def trained(
    data: Path, model_dir: Path, settings: Settings, slots: list[str] | None = None
) -> IntentClassifier:
    if not (model_dir / CONFIG_FILE).is_file():
        registry = build_registry(settings)
        options = TrainingOptions(slots=slots)
        train_from_file(data, model_dir, registry, options, cache_dir=settings.cache_dir)
    return IntentClassifier.load(model_dir)


def print_table(
    label: str,
    classifier: IntentClassifier,
    by_part: dict[str, list[Slots]],
    gold: list[str],
    spaces: dict[str, str | None],
) -> None:
    """Accuracy per combination of parts, and the issue's targets checked on it."""
    figures = {
        name: accuracy(
            shipped(classifier, messages_of(by_part, kinds), spaces), classifier.intents, gold
        )
        for name, kinds in COMBINATIONS.items()
    }
    print(f"{label}:")
    print(f"  {'parts':<28}{'accuracy %':>11}")
    for name, figure in figures.items():
        print(f"  {name:<28}{figure:>11.2f}")
    checks = {
        "vague + voice within 2 of voice alone": figures["vague caption + voice"]
        >= figures["voice alone"] - 2,
        "vague + screenshot within 2 of screenshot alone": figures["vague caption + screenshot"]
        >= figures["screenshot alone"] - 2,
        "text + voice >= text alone": figures["true text + voice"] >= figures["text alone"],
        "text + screenshot >= text alone": figures["true text + screenshot"]
        >= figures["text alone"],
        "voice + screenshot >= the better alone": figures["voice + screenshot"]
        >= max(figures["voice alone"], figures["screenshot alone"]),
    }
    for check, ok in checks.items():
        print(f"  {check:<50}{'PASS' if ok else 'FAIL'}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--split",
        choices=("test", "validation"),
        default="test",
        help="Messages from test.csv, or from the text-only model's validation rows of train.csv.",
    )
    parser.add_argument(
        "--train-per-intent",
        type=int,
        default=4,
        help="Attachment messages per intent for the all-slots model (0: text-only model only).",
    )
    parser.add_argument(
        "--slots",
        nargs="+",
        help="Train the model with attachment messages on these slots alone (the demo's: "
        "text voice_transcript image_text); default: every slot.",
    )
    args = parser.parse_args()
    if not (BANKING77 / "train.csv").is_file() or not espeak_available():
        sys.exit("needs ../shared/data/banking77 and espeak-ng")
    settings = Settings()
    registry = build_registry(settings)
    work = settings.cache_dir / "fusion-messages"
    spaces = {name: spec.space for name, spec in registry.slot_specs().items()}

    started = time.perf_counter()
    messages_path, captions_path = test_messages(
        args.sample, args.seed, work / f"{args.split}-{args.sample}-{args.seed}", args.split
    )
    messages = load_dataset(messages_path)
    features = featurize(messages, registry, settings.cache_dir)
    captions = featurize(load_dataset(captions_path), registry, settings.cache_dir, progress=False)
    by_part = part_slots(features, captions)
    gold = messages.intents
    text_only = trained(
        BANKING77 / "train.csv", settings.home / "models" / "bench-banking77-text-train", settings
    )
    print("BANKING77 (Casanueva et al. 2020, CC BY 4.0): messages of several parts")
    print(
        f"sample: {args.sample} {args.split} utterances (seed {args.seed}); voice notes by "
        f"espeak-ng, screenshots by synth; test captions: {len(HELD_OUT_CAPTIONS)} vague lines "
        f"not trained on; media, transcripts, OCR and text-only model: "
        f"{time.perf_counter() - started:.0f} s"
    )
    print()
    print_table("text-only model (train.csv's 10,003 texts)", text_only, by_part, gold, spaces)

    print("text-only model, rules for reading several text-space parts (accuracy %):")
    multi = [name for name, kinds in COMBINATIONS.items() if len(kinds) > 1]
    short = [n.replace("vague caption", "vague").replace("true text", "text") for n in multi]
    print(f"  {'rule':<44}" + "".join(f"{name.replace(' + ', '+'):>18}" for name in short))
    for rule_name, rule in TEXT_ONLY_RULES.items():
        cells = [
            accuracy(
                rule(text_only, messages_of(by_part, COMBINATIONS[n]), spaces),
                text_only.intents,
                gold,
            )
            for n in multi
        ]
        print(f"  {rule_name:<44}" + "".join(f"{cell:>18.2f}" for cell in cells))
    print()
    if args.train_per_intent == 0:
        return

    started = time.perf_counter()
    train_file = all_slots_training_file(
        args.train_per_intent, args.seed, work / f"train-{args.train_per_intent}-{args.seed}"
    )
    slots = "+".join(args.slots) if args.slots else "all-slots"
    with_attachments = trained(
        train_file,
        settings.home / "models" / f"bench-banking77-{slots}-{args.train_per_intent}-{args.seed}",
        settings,
        args.slots,
    )
    print_table(
        f"{slots} model (the 10,003 texts + {args.train_per_intent} caption/voice/screenshot "
        f"messages per intent; {time.perf_counter() - started:.0f} s)",
        with_attachments,
        by_part,
        gold,
        spaces,
    )


if __name__ == "__main__":
    main()
