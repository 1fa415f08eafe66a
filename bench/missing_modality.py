"""Missing modalities: a model trained on text + speech + screenshot slots, asked with text alone.

Rows: the first ``--per-intent`` rows of each BANKING77 intent in train.csv (10 by default: 770
rows). Each row is spoken once with espeak-ng (voice, speed, pitch and noise drawn per row) and
rendered once as a screenshot, so every training example carries three parts: the typed text,
its recording and its picture. A text-only model trains on the same rows' text. Both are scored
on the whole BANKING77 test split with the typed text alone, for ``--head-seeds`` seeds of the
heads (one point is 31 rows, about the spread between seeds). Target: the multimodal model
loses at most 1 point, on the mean. The synthetic media and their embeddings are kept under
FUSIONDESK_HOME, so a second run only retrains the heads.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from fusiondesk.service.settings import Settings
from fusiondesk.service.synth.screenshot import write_screenshots
from fusiondesk.service.synth.voice import synthesize_voice_dataset
from fusiondesk.service.training import (
    Dataset,
    Example,
    Features,
    TrainingOptions,
    featurize,
    load_dataset,
    train_model,
)
from fusiondesk.service.training.evaluation import evaluate_classifier
from fusiondesk.service.understanding.fusion import IntentClassifier
from fusiondesk.service.understanding.wiring import build_registry

BANKING = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77"


def first_rows(per_intent: int) -> list[tuple[str, str]]:
    """``(text, intent)``: the first ``per_intent`` rows of each intent, in file order."""
    taken: defaultdict[str, int] = defaultdict(int)
    rows = []
    with (BANKING / "train.csv").open(newline="", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            if taken[row["category"]] < per_intent:
                taken[row["category"]] += 1
                rows.append((row["text"], row["category"]))
    return rows


def multimodal_rows(rows: list[tuple[str, str]], folder: Path, seed: int) -> Path:
    """A JSONL of text + audio + image rows, made once per folder."""
    manifest = folder / "multimodal.jsonl"
    if manifest.is_file():
        return manifest
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "rows.jsonl").open("w", encoding="utf-8") as out:
        for text, intent in rows:
            out.write(json.dumps({"text": text, "intent": intent}) + "\n")
    voice = synthesize_voice_dataset(folder / "rows.jsonl", folder / "voice", variants=1, seed=seed)
    shots = write_screenshots(rows, folder / "screenshots", seed=seed)
    spoken = [json.loads(line) for line in voice.jsonl.read_text().splitlines()]
    pictured = [json.loads(line) for line in shots.read_text().splitlines()]
    partial = manifest.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for (text, intent), speech, shot in zip(rows, spoken, pictured, strict=True):
            record = {
                "text": text,
                "audio": f"voice/{speech['audio']}",
                "image": f"screenshots/{shot['image']}",
                "intent": intent,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    partial.rename(manifest)
    return manifest


def text_only(dataset: Dataset) -> Dataset:
    examples = [
        Example(example.intent, {"text": example.inputs["text"]}, example.base_dir)
        for example in dataset.examples
    ]
    return Dataset(examples, dataset.source, dataset.digest + "/text")


def train(features: Features, labels: list[str], options: TrainingOptions) -> IntentClassifier:
    return IntentClassifier(train_model(features, labels, options, progress=False).model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-intent", type=int, default=10)
    parser.add_argument("--strategy", default="weighted_sum")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the synthetic media.")
    parser.add_argument("--head-seeds", type=int, default=3, help="Heads trained per model.")
    parser.add_argument(
        "--modality-dropout", type=float, default=TrainingOptions().modality_dropout
    )
    args = parser.parse_args()
    settings = Settings()
    registry = build_registry(settings)
    rows = first_rows(args.per_intent)
    folder = settings.cache_dir / "missing-modality" / f"{args.per_intent}-per-intent-{args.seed}"
    started = time.perf_counter()
    multimodal = load_dataset(multimodal_rows(rows, folder, args.seed))
    fused_features = featurize(multimodal, registry, settings.cache_dir)
    text_features = featurize(text_only(multimodal), registry, settings.cache_dir)
    prepared_s = time.perf_counter() - started
    test = load_dataset(BANKING / "test.csv")
    test_features = featurize(test, registry, settings.cache_dir, progress=False)
    texts = [example.inputs["text"] for example in test.examples]
    labels = multimodal.intents
    print(
        f"\nBANKING77: {len(multimodal)} training rows ({args.per_intent} per intent), each typed, "
        f"spoken and pictured; media and embeddings {prepared_s:.0f} s; strategy {args.strategy}, "
        f"modality dropout {args.modality_dropout}"
    )
    print(f"fused slots: {'+'.join(sorted(fused_features.specs))}")
    header = f"{'head seed':>9} {'text+speech+screenshot':>23} {'text only':>10} {'loss':>7}"
    print(header)
    print("-" * len(header))
    losses = []
    for head_seed in range(args.head_seeds):
        options = TrainingOptions(
            strategy=args.strategy,
            epochs=60,
            patience=8,
            seed=head_seed,
            modality_dropout=args.modality_dropout,
        )
        fused = evaluate_classifier(
            train(fused_features, labels, options), test_features, test.intents, texts
        ).accuracy
        alone = evaluate_classifier(
            train(text_features, labels, options), test_features, test.intents, texts
        ).accuracy
        losses.append(100 * (alone - fused))
        print(f"{head_seed:>9} {fused:>23.4f} {alone:>10.4f} {losses[-1]:>+7.2f}")
    print(
        f"\nloss on text alone: {np.mean(losses):+.2f} +- {np.std(losses):.2f} points over "
        f"{args.head_seeds} head seeds (target <= 1.00), {len(test)} test rows, typed text alone"
    )


if __name__ == "__main__":
    main()
