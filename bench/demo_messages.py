"""The demo model's attachment messages: how many per intent?

``make run`` trains the demo on its typed texts plus ``N`` messages per intent with a voice note
and a screenshot (``fusiondesk.service.demo.messages``). This bench holds out ``--held-out`` of
each intent's texts: they become test messages (typed text, voice note, screenshot, and a vague
caption no model trained on, as in bench/fusion_messages.py). The other texts train the demo as
``ensure_demo_model`` does (on the demo's text-space slots; ``--all-slots``: on every slot),
once per ``N`` in ``--per-intent`` (0: text only), and the table of
bench/fusion_messages.py is printed for each, with the time it took to make the attachment
messages, embed them and train (what a first start adds; media and embeddings are cached under
FUSIONDESK_HOME/cache, so run it with a fresh FUSIONDESK_HOME for first-start times). It also
prints the demo model's answers for the issue's two cases.

    python bench/demo_messages.py [--held-out 6] [--per-intent 0 2 4 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fusion_messages import part_slots, print_table, write_test_messages  # noqa: E402
from fusiondesk.service.demo import DEMO_INTENTS  # noqa: E402
from fusiondesk.service.demo.messages import DEMO_SLOTS, demo_training_file  # noqa: E402
from fusiondesk.service.settings import Settings  # noqa: E402
from fusiondesk.service.synth.voice import Delivery, espeak_available, speak  # noqa: E402
from fusiondesk.service.training import TrainingOptions, featurize, train_from_file  # noqa: E402
from fusiondesk.service.training.data import load_dataset  # noqa: E402
from fusiondesk.service.understanding.fusion import IntentClassifier  # noqa: E402
from fusiondesk.service.understanding.wiring import build_registry  # noqa: E402
from tests.images import encode, error_dialog  # noqa: E402

ISSUE_CASES = (
    ("I need help", "audio", "where is my parcel? I ordered it last week", "order_status"),
    ("hi, see attached", "image", "Error 504: payment failed", "payment_failed"),
)


def split_demo(
    held_out: int, seed: int, directory: Path
) -> tuple[Path, list[tuple[int, str, str]]]:
    """The demo intents without ``held_out`` texts per intent (a JSONL file), and those texts."""
    rows = [json.loads(line) for line in DEMO_INTENTS.read_text(encoding="utf-8").splitlines()]
    rng = np.random.default_rng(seed)
    test: list[tuple[int, str, str]] = []
    for intent in sorted({row["intent"] for row in rows}):
        numbers = [n for n, row in enumerate(rows) if row["intent"] == intent]
        test.extend((int(n), rows[n]["text"], intent) for n in rng.choice(numbers, held_out, False))
    kept = {number for number, _, _ in test}
    directory.mkdir(parents=True, exist_ok=True)
    training = directory / "intents.jsonl"
    training.write_text(
        "".join(json.dumps(row) + "\n" for n, row in enumerate(rows) if n not in kept),
        encoding="utf-8",
    )
    return training, sorted(test)


def issue_cases(directory: Path) -> Path:
    """The issue's two messages (caption + voice note, caption + screenshot) as JSONL."""
    media = directory / "cases"
    media.mkdir(parents=True, exist_ok=True)
    (media / "note.wav").write_bytes(speak(ISSUE_CASES[0][2], Delivery()))
    (media / "dialog.png").write_bytes(encode(error_dialog(ISSUE_CASES[1][2]), "PNG"))
    names = {"audio": "cases/note.wav", "image": "cases/dialog.png"}
    path = directory / "cases.jsonl"
    path.write_text(
        "".join(
            json.dumps({"text": caption, kind: names[kind], "intent": intent}) + "\n"
            for caption, kind, _, intent in ISSUE_CASES
        ),
        encoding="utf-8",
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--held-out", type=int, default=6)
    parser.add_argument("--per-intent", type=int, nargs="+", default=[0, 2, 4, 8])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--all-slots",
        action="store_true",
        help="Train on every slot (acoustic and visual too), not the demo's text-space slots.",
    )
    args = parser.parse_args()
    if not espeak_available():
        sys.exit("needs espeak-ng")
    settings = Settings()
    registry = build_registry(settings)
    spaces = {name: spec.space for name, spec in registry.slot_specs().items()}
    work = settings.cache_dir / "demo-bench" / f"held-out-{args.held_out}-{args.seed}"
    training, test = split_demo(args.held_out, args.seed, work)
    messages_path, captions_path = write_test_messages(
        test, args.seed, np.random.default_rng(args.seed), work / "test"
    )
    messages = load_dataset(messages_path)
    features = featurize(messages, registry, settings.cache_dir, progress=False)
    captions = featurize(load_dataset(captions_path), registry, settings.cache_dir, progress=False)
    by_part = part_slots(features, captions)
    cases = featurize(load_dataset(issue_cases(work)), registry, settings.cache_dir, progress=False)
    print(
        f"demo model: {len(test)} held-out texts ({args.held_out} per intent, seed {args.seed}) "
        "as messages; test captions: vague lines not trained on"
    )
    print()
    for per_intent in args.per_intent:
        started = time.perf_counter()
        data = demo_training_file(training, settings.cache_dir, per_intent)
        variant = "all" if args.all_slots else "demo"
        model_dir = settings.home / "models" / f"bench-{variant}-{per_intent}-{args.held_out}"
        slots = None if args.all_slots or not per_intent else list(DEMO_SLOTS)
        train_from_file(
            data,
            model_dir,
            registry,
            TrainingOptions(slots=slots),
            cache_dir=settings.cache_dir,
            progress=False,
        )
        seconds = time.perf_counter() - started
        classifier = IntentClassifier.load(model_dir)
        label = (
            f"demo, {per_intent} attachment messages per intent "
            f"({len(classifier.config.slots)} slots; data + training {seconds:.0f} s)"
        )
        print_table(label, classifier, by_part, messages.intents, spaces)
        for (caption, kind, _, _), prediction in zip(
            ISSUE_CASES,
            classifier.predict_messages(cases.as_slot_dicts(), spaces),
            strict=True,
        ):
            answer = "out of scope" if prediction.out_of_scope else prediction.intent
            print(
                f"  {caption!r} + {kind}: {prediction.intent} {prediction.confidence:.3f} "
                f"(threshold {classifier.threshold:.2f}) -> {answer}"
            )
        print()


if __name__ == "__main__":
    main()
