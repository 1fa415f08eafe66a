"""Voice path vs text path: the same test utterances typed and spoken, on BANKING77 or CLINC150.

A text-only model is trained on the data set's training split (embeddings cached in
FUSIONDESK_HOME, the model kept for later runs). A fixed sample of in-scope test utterances is
spoken by espeak-ng, sent through the voice plugin (decode, VAD, Whisper, transcript embedding)
and classified by that model, whose text slot reads the transcript. Prints both accuracies,
their gap, the word error rate and the share each path answers (not out of scope). Target:
voice within 6 points of text; within 10 on a noisy phone line (``--noise-snr 10 --rate 8000``).

The voice plugin runs as it is served: with the settings, and told the model's domain words
(recorded by training) as Whisper's hint; ``--no-hotwords`` measures without any hint.

    python bench/voice_accuracy.py [--dataset clinc150] [--sample 300] [--model base]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._edit_distance import edit_distance  # noqa: E402
from fusiondesk.plugins import Part, UsesDomainWords  # noqa: E402
from fusiondesk.service.settings import Settings  # noqa: E402
from fusiondesk.service.synth.voice import Delivery, espeak_available, speak  # noqa: E402
from fusiondesk.service.training import TrainingOptions, train_from_file  # noqa: E402
from fusiondesk.service.training.data import load_dataset  # noqa: E402
from fusiondesk.service.understanding.fusion import IntentClassifier  # noqa: E402
from fusiondesk.service.understanding.fusion.classifier import Prediction  # noqa: E402
from fusiondesk.service.understanding.fusion.domain_words import (  # noqa: E402
    DOMAIN_WORDS_FILE,
    model_domain_words,
)
from fusiondesk.service.understanding.fusion.encoders import reconfigured  # noqa: E402
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE  # noqa: E402
from fusiondesk.service.understanding.wiring import (  # noqa: E402
    build_model_registry,
    build_registry,
)

DATA = ROOT.parent / "shared" / "data"
TARGET_GAP_POINTS = 6.0
TARGET_NOISY_GAP_POINTS = 10.0


@dataclass(frozen=True)
class DataSet:
    title: str
    train: Path
    test: Path


DATASETS = {
    "banking77": DataSet(
        "BANKING77 (Casanueva et al. 2020, CC BY 4.0), 77 intents",
        DATA / "banking77" / "train.csv",
        DATA / "banking77" / "test.csv",
    ),
    "clinc150": DataSet(
        "CLINC150 (Larson et al. 2019, CC BY 3.0), 150 intents in 10 domains",
        Path(f"{DATA / 'clinc150' / 'data_full.json'}#train"),
        Path(f"{DATA / 'clinc150' / 'data_full.json'}#test"),
    ),
}


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


def resident_mib() -> float:
    """This process's resident memory (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="banking77")
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
        "--noise-snr", type=float, help="White noise at this SNR (dB) instead of the delivery's."
    )
    parser.add_argument("--rate", type=int, help="Resample the clips to this rate (8000: phone).")
    parser.add_argument("--model", help="Whisper size instead of the settings' (tiny.en, base).")
    parser.add_argument("--beam-size", type=int, help="Beam width instead of the settings'.")
    parser.add_argument(
        "--train-per-intent",
        type=int,
        help="BANKING77: train on the first N rows of each intent (a busy machine).",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="Most training epochs instead of the default (early stopping may end sooner).",
    )
    parser.add_argument(
        "--no-hotwords",
        action="store_true",
        help="No hint for Whisper: neither the model's domain words nor the settings' hotwords.",
    )
    args = parser.parse_args()
    dataset = DATASETS[args.dataset]
    if not Path(str(dataset.train).partition("#")[0]).is_file() or not espeak_available():
        sys.exit(f"needs {dataset.train} and espeak-ng")

    settings = Settings()
    train_path, label = dataset.train, "the training split"
    if args.train_per_intent and args.dataset == "banking77":
        train_path = subset(train_path, args.train_per_intent, settings.cache_dir)
        label = f"first {args.train_per_intent} rows per intent"
    # The text encoder's identity names the model: another encoder (or data) trains another.
    untrained = build_registry(settings)
    options = TrainingOptions() if args.epochs is None else TrainingOptions(epochs=args.epochs)
    identity = f"{train_path}|{untrained.get('text').fingerprint()}|{options.model_dump_json()}"
    tag = hashlib.sha256(identity.encode()).hexdigest()[:10]
    model_dir = settings.home / "models" / f"bench-{args.dataset}-text-{tag}"
    started = time.perf_counter()
    if not (model_dir / CONFIG_FILE).is_file() or not (model_dir / DOMAIN_WORDS_FILE).is_file():
        train_from_file(train_path, model_dir, untrained, options, cache_dir=settings.cache_dir)
    classifier = IntentClassifier.load(model_dir)
    train_s = time.perf_counter() - started
    registry = build_model_registry(settings, model_dir)  # as served: told the model's words

    test = load_dataset(dataset.test).examples
    in_scope = [e for e in test if e.intent != classifier.config.out_of_scope_intent]
    rng = np.random.default_rng(args.seed)
    picked = sorted(rng.choice(len(in_scope), size=args.sample, replace=False))
    texts = [in_scope[i].inputs["text"] for i in picked]
    gold = [in_scope[i].intent for i in picked]

    text_plugin, voice_plugin = registry.get("text"), registry.get("voice")
    overrides: dict[str, object] = {}
    if args.model:  # where the settings' FUSIONDESK_VOICE_MODEL would assemble it
        overrides |= {"model": args.model, "cache_dir": settings.cache_dir / "models"}
    if args.beam_size:
        overrides["beam_size"] = args.beam_size
    if args.no_hotwords:
        overrides["hotwords"] = ""
    if overrides:
        voice_plugin = reconfigured(voice_plugin, overrides)
        if isinstance(voice_plugin, UsesDomainWords):  # as the server does on a reload
            voice_plugin.use_domain_words(model_domain_words(model_dir))
    own_words = model_domain_words(model_dir)
    if getattr(voice_plugin, "hint", None) is None:
        hint_label = "none"
    elif getattr(voice_plugin.config, "hotwords", None) is not None:
        hint_label = "the settings' hotwords (an operator's hint)"
    else:
        hint_label = f"the model's {len(own_words)} domain words ({', '.join(own_words[:6])}, ...)"
    spaces = {name: spec.space for name, spec in registry.slot_specs().items()}

    def predict(slot_dicts: list[dict[str, np.ndarray]]) -> list[Prediction]:
        return classifier.predict_messages(slot_dicts, spaces)

    text_encodings = text_plugin.embed(
        [text_plugin.preprocess(Part("text", text=t)) for t in texts]
    )
    text_predicted = predict([encoding.slots for encoding in text_encodings])

    started = time.perf_counter()
    draw = Delivery.draw if args.delivery == "varied" else clear_delivery
    deliveries = [draw(rng) for _ in texts]
    if args.noise_snr is not None:
        deliveries = [replace(d, snr_db=args.noise_snr) for d in deliveries]
    if args.rate is not None:
        deliveries = [replace(d, rate=args.rate) for d in deliveries]
    clips = [
        speak(t, d, seed=args.seed + i)
        for i, (t, d) in enumerate(zip(texts, deliveries, strict=True))
    ]
    speak_s = time.perf_counter() - started

    before_mib = resident_mib()
    started = time.perf_counter()
    voice_plugin.load()
    load_s = time.perf_counter() - started
    model_mib = resident_mib() - before_mib
    started = time.perf_counter()
    voice_encodings = voice_plugin.embed(
        [voice_plugin.preprocess(Part("audio", data=clip)) for clip in clips]
    )
    voice_s = time.perf_counter() - started
    # A clip heard as silence has no slot: a miss, and not answered.
    heard = [i for i, encoding in enumerate(voice_encodings) if encoding.slots]
    voice_predicted: list[Prediction | None] = [None] * len(texts)
    for i, prediction in zip(
        heard, predict([voice_encodings[i].slots for i in heard]), strict=True
    ):
        voice_predicted[i] = prediction
    transcripts = [str(encoding.details.get("transcript", "")) for encoding in voice_encodings]
    errors = sum(edit_distance(words(r), words(h)) for r, h in zip(texts, transcripts, strict=True))
    reference_words = sum(len(words(r)) for r in texts)
    audio_s = sum(float(encoding.details["duration_s"]) for encoding in voice_encodings)
    english = sum(encoding.details.get("language") == "en" for encoding in voice_encodings)

    def accuracy(predictions: list[Prediction | None]) -> float:
        hits = [p is not None and p.intent == g for p, g in zip(predictions, gold, strict=True)]
        return 100 * float(np.mean(hits))

    def answered(predictions: list[Prediction | None]) -> float:
        return 100 * float(np.mean([p is not None and not p.out_of_scope for p in predictions]))

    text_accuracy, voice_accuracy = accuracy(list(text_predicted)), accuracy(voice_predicted)
    gap = text_accuracy - voice_accuracy
    wer = 100 * errors / reference_words
    degraded = args.noise_snr is not None or args.rate is not None
    target = TARGET_NOISY_GAP_POINTS if degraded else TARGET_GAP_POINTS
    condition = (
        "clean" if not degraded else f"noise {args.noise_snr} dB SNR, {args.rate or 'native'} Hz"
    )
    print(f"{dataset.title}: voice path vs text path")
    print(
        f"model: text-only, trained on {label} (at most {options.epochs} epochs; "
        f"{len(classifier.intents)} intents, threshold "
        f"{classifier.threshold:.3f}); {train_s:.0f} s incl. loading"
    )
    print(
        f"sample: {args.sample} in-scope test utterances (seed {args.seed}), {audio_s:.0f} s of "
        f"speech, {args.delivery} espeak-ng delivery, {condition}"
    )
    voice_settings = voice_plugin.config.model_dump(
        include={"model", "beam_size", "language", "compute_type", "cpu_threads"}
    )
    print(f"voice plugin: {voice_settings}; hint: {hint_label}")
    print(
        f"espeak-ng: {speak_s:.1f} s; Whisper load {load_s:.1f} s, +{model_mib:.0f} MiB resident; "
        f"voice plugin: {voice_s:.1f} s (RTF {voice_s / audio_s:.3f})"
    )
    print()
    print(f"{'metric':<30}{'text':>10}{'voice':>10}{'target':>12}")
    print(f"{'accuracy (%)':<30}{text_accuracy:>10.2f}{voice_accuracy:>10.2f}{'':>12}")
    print(
        f"{'answered, not out of scope (%)':<30}{answered(list(text_predicted)):>10.2f}"
        f"{answered(voice_predicted):>10.2f}{'':>12}"
    )
    print(f"{'gap (points)':<30}{'':>10}{gap:>10.2f}{f'<= {target:.0f}':>12}")
    print(f"{'word error rate (%)':<30}{'':>10}{wer:>10.2f}{'':>12}")
    print(f"{'heard as English (%)':<30}{'':>10}{100 * english / len(texts):>10.2f}{'':>12}")
    print(f"{'clips heard as no speech':<30}{'':>10}{len(texts) - len(heard):>10d}{'':>12}")
    print(f"result: {'PASS' if gap <= target else 'FAIL'}")


if __name__ == "__main__":
    main()
