"""Voice path vs text path on BANKING77: the same test utterances typed and spoken.

A text-only model is trained on the full BANKING77 training set (embeddings cached in
FUSIONDESK_HOME, the model kept for later runs). A fixed sample of test utterances is spoken by
espeak-ng (varied voices, speeds, pitches, background noise), sent through the voice plugin
(decode, VAD, Whisper, transcript embedding) and classified by that model, whose text slot reads
the transcript. Prints both accuracies and the word error rate. Target: voice within 6 points.

Unless the settings already give the voice plugin ``hotwords``, the bench does what an operator
does with ``fusiondesk vocabulary``: it takes the domain words of the training file (never the
test utterances) as the Whisper hint; ``--no-hotwords`` measures without it.

    python bench/voice_accuracy.py [--sample 300]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._edit_distance import edit_distance  # noqa: E402
from fusiondesk.plugins import Part  # noqa: E402
from fusiondesk.service.settings import Settings  # noqa: E402
from fusiondesk.service.synth.voice import Delivery, espeak_available, speak  # noqa: E402
from fusiondesk.service.training import TrainingOptions, train_from_file  # noqa: E402
from fusiondesk.service.training.data import load_dataset  # noqa: E402
from fusiondesk.service.training.vocabulary import domain_vocabulary, hotwords  # noqa: E402
from fusiondesk.service.understanding.fusion import IntentClassifier  # noqa: E402
from fusiondesk.service.understanding.fusion.encoders import reconfigured  # noqa: E402
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE  # noqa: E402
from fusiondesk.service.understanding.wiring import build_registry  # noqa: E402

BANKING77 = ROOT.parent / "shared" / "data" / "banking77"
TARGET_GAP_POINTS = 6.0


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()


def clear_delivery(rng: np.random.Generator) -> Delivery:
    """A caller on a decent line: a main English voice at a normal pace, little noise."""
    return Delivery(
        voice=str(rng.choice(["en-us", "en-gb"])),
        speed=int(rng.integers(140, 180, endpoint=True)),
        pitch=int(rng.integers(40, 60, endpoint=True)),
        snr_db=float(rng.uniform(25, 40)),
    )


def subset(train_csv: Path, per_intent: int, cache_dir: Path) -> Path:
    with train_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    taken: dict[str, int] = {}
    kept = []
    for row in rows:
        if taken.get(row["category"], 0) < per_intent:
            taken[row["category"]] = taken.get(row["category"], 0) + 1
            kept.append(row)
    path = cache_dir / f"banking77-train-{per_intent}-per-intent.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "category"])
        writer.writeheader()
        writer.writerows(kept)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--delivery",
        choices=["clear", "varied"],
        default="clear",
        help="clear: en-us/en-gb, 140-180 wpm, mild pitch, 25-40 dB SNR; varied: synth's full "
        "range (8 voices and variants, 130-200 wpm, 15-40 dB SNR).",
    )
    parser.add_argument(
        "--train-per-intent",
        type=int,
        help="Train on the first N rows of each intent instead of all 10,003 (a busy machine).",
    )
    parser.add_argument(
        "--no-hotwords",
        action="store_true",
        help="No domain-word hint for Whisper unless the settings give one.",
    )
    args = parser.parse_args()
    if not (BANKING77 / "train.csv").is_file() or not espeak_available():
        sys.exit("needs ../shared/data/banking77 and espeak-ng")

    settings = Settings()
    registry = build_registry(settings)
    train_csv, label = BANKING77 / "train.csv", "all 10,003 rows"
    if args.train_per_intent:
        train_csv = subset(train_csv, args.train_per_intent, settings.cache_dir)
        label = f"first {args.train_per_intent} rows per intent"
    model_dir = settings.home / "models" / f"bench-banking77-text-{train_csv.stem}"
    started = time.perf_counter()
    if not (model_dir / CONFIG_FILE).is_file():
        train_from_file(
            train_csv, model_dir, registry, TrainingOptions(), cache_dir=settings.cache_dir
        )
    classifier = IntentClassifier.load(model_dir)
    train_s = time.perf_counter() - started

    with (BANKING77 / "test.csv").open(encoding="utf-8", newline="") as handle:
        rows = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    rng = np.random.default_rng(args.seed)
    sample = [rows[i] for i in sorted(rng.choice(len(rows), size=args.sample, replace=False))]
    texts = [text for text, _ in sample]
    gold = [intent for _, intent in sample]

    text_plugin, voice_plugin = registry.get("text"), registry.get("voice")
    hint = "from the settings" if getattr(voice_plugin.config, "hotwords", None) else "none"
    if hint == "none" and not args.no_hotwords:
        texts_seen = [example.inputs["text"] for example in load_dataset(train_csv).examples]
        words_seen = domain_vocabulary(texts_seen)
        voice_plugin = reconfigured(voice_plugin, {"hotwords": hotwords(words_seen)})
        hint = (
            f"{len(words_seen)} domain words of {train_csv.name} ({', '.join(words_seen[:6])}, ...)"
        )
    spaces = {name: spec.space for name, spec in registry.slot_specs().items()}

    def classify(slot_dicts: list[dict[str, np.ndarray]]) -> list[str]:
        probabilities = classifier.message_probabilities(slot_dicts, spaces)
        return [classifier.intents[i] for i in probabilities.argmax(axis=1)]

    text_encodings = text_plugin.embed(
        [text_plugin.preprocess(Part("text", text=t)) for t in texts]
    )
    text_predicted = classify([encoding.slots for encoding in text_encodings])

    started = time.perf_counter()
    draw = Delivery.draw if args.delivery == "varied" else clear_delivery
    clips = [speak(t, draw(rng), seed=args.seed + i) for i, t in enumerate(texts)]
    speak_s = time.perf_counter() - started
    started = time.perf_counter()
    voice_encodings = voice_plugin.embed(
        [voice_plugin.preprocess(Part("audio", data=clip)) for clip in clips]
    )
    voice_s = time.perf_counter() - started
    # A clip heard as silence has no slot and counts as a miss.
    heard = [i for i, encoding in enumerate(voice_encodings) if encoding.slots]
    voice_predicted = [""] * len(texts)
    if heard:
        for i, intent in zip(
            heard, classify([voice_encodings[i].slots for i in heard]), strict=True
        ):
            voice_predicted[i] = intent
    transcripts = [str(encoding.details.get("transcript", "")) for encoding in voice_encodings]
    errors = sum(edit_distance(words(r), words(h)) for r, h in zip(texts, transcripts, strict=True))
    reference_words = sum(len(words(r)) for r in texts)
    audio_s = sum(float(encoding.details["duration_s"]) for encoding in voice_encodings)

    text_accuracy = 100 * float(
        np.mean([p == g for p, g in zip(text_predicted, gold, strict=True)])
    )
    voice_accuracy = 100 * float(
        np.mean([p == g for p, g in zip(voice_predicted, gold, strict=True)])
    )
    gap = text_accuracy - voice_accuracy
    wer = 100 * errors / reference_words
    print("BANKING77 (Casanueva et al. 2020, CC BY 4.0): voice path vs text path")
    print(f"model: text-only, trained on train.csv ({label}); {train_s:.0f} s incl. loading")
    print(
        f"sample: {args.sample} test utterances (seed {args.seed}), {audio_s:.0f} s of speech, "
        f"{args.delivery} espeak-ng delivery"
    )
    voice_settings = voice_plugin.config.model_dump(include={"model", "beam_size", "language"})
    print(f"voice plugin: {voice_settings}; hotwords: {hint}")
    print(
        f"espeak-ng: {speak_s:.1f} s; voice plugin: {voice_s:.1f} s (RTF {voice_s / audio_s:.3f})"
    )
    print()
    print(f"{'metric':<28}{'value':>10}{'target':>14}")
    print(f"{'text-path accuracy (%)':<28}{text_accuracy:>10.2f}{'':>14}")
    print(f"{'voice-path accuracy (%)':<28}{voice_accuracy:>10.2f}{'':>14}")
    print(f"{'gap (points)':<28}{gap:>10.2f}{f'<= {TARGET_GAP_POINTS:.0f}':>14}")
    print(f"{'word error rate (%)':<28}{wer:>10.2f}{'':>14}")
    print(f"{'clips heard as no speech':<28}{len(texts) - len(heard):>10d}{'':>14}")
    print(f"result: {'PASS' if gap <= TARGET_GAP_POINTS else 'FAIL'}")


if __name__ == "__main__":
    main()
