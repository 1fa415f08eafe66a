"""Intent accuracy on the public splits: every fusion strategy beside its peers, in one table.

BANKING77 (train.csv -> test.csv): top-1 test accuracy and training time.
CLINC150 full (train -> test, validation on val; oos_* rows as the out_of_scope class, and the
threshold chosen on val for a target out-of-scope recall): in-scope accuracy, out-of-scope
recall and precision.
Peers on the same rows: TF-IDF + linear SVM; logistic regression on each frozen encoder's
embeddings (for CLINC, with out-of-scope as a class).

The strategies read two text slots: a frozen packaged English encoder and the multilingual USE
(``--text-only`` keeps the English encoder alone). ``--encoders minilm mpnet`` puts rows of
each packaged encoder (all-MiniLM-L6-v2, all-mpnet-base-v2) in the same table (default: the
settings' ``text_encoder``). ``--finetune-encoder`` adds rows whose encoder is first
fine-tuned on the training rows the head trains on (never its validation rows, never the test
split), as ``fusiondesk train --finetune-encoder`` does; their training time includes the
fine-tuning. ``--quick`` uses a small slice of each split (smoke). Embeddings and fine-tuned
encoders are cached under FUSIONDESK_HOME, so a second run only retrains the heads.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from fusiondesk.plugins import PluginRegistry
from fusiondesk.plugins.text.packaged import ENCODER_NAMES
from fusiondesk.service.settings import Settings
from fusiondesk.service.training import Dataset, Features, TrainingOptions, featurize, load_dataset
from fusiondesk.service.training.data import OUT_OF_SCOPE_INTENT
from fusiondesk.service.training.evaluation import score
from fusiondesk.service.training.experiments import compare_options
from fusiondesk.service.training.finetune import FinetuneOptions, cached_finetuned_encoder
from fusiondesk.service.training.pipeline import finetuning_rows, rows_for_training
from fusiondesk.service.understanding.fusion.encoders import (
    text_encoder_settings,
    with_plugin_settings,
)
from fusiondesk.service.understanding.fusion.strategies import STRATEGIES
from fusiondesk.service.understanding.wiring import build_registry

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BANKING = (DATA / "banking77" / "train.csv", DATA / "banking77" / "test.csv")
CLINC = DATA / "clinc150" / "data_full.json"
OOS_RECALL_TARGET = 0.9
SYNTHETIC_OUTLIERS = 0.25
"""Share of mixed pseudo out-of-scope rows per batch on CLINC150 (off by default in training)."""
Row = dict[str, object]


def _slice(dataset: Dataset, every: int) -> Dataset:
    return Dataset(dataset.examples[::every], dataset.source, f"{dataset.digest}/{every}")


def _texts(dataset: Dataset) -> list[str]:
    return [example.inputs["text"] for example in dataset.examples]


def _peer_row(name: str, gold: list[str], predicted: list[str], seconds: float) -> Row:
    """Score hard predictions like the fusion models' (out-of-scope as a class, no threshold)."""
    labels = sorted(set(gold) | set(predicted))
    one_hot = np.eye(len(labels))[[labels.index(p) for p in predicted]]
    evaluation = score(
        gold, one_hot, labels, threshold=0.0, out_of_scope_intent=OUT_OF_SCOPE_INTENT
    )
    return {"name": name, **evaluation.metrics, "seconds": seconds}


def _timed(fit: Callable[[], list[str]]) -> tuple[list[str], float]:
    started = time.perf_counter()
    predicted = fit()
    return predicted, time.perf_counter() - started


def _peers(
    train: Dataset, test: Dataset, encoded: dict[str, tuple[Features, Features]]
) -> list[Row]:
    """TF-IDF + SVM, and logistic regression on each encoder's (train, test) features."""

    def tfidf_svm() -> list[str]:
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        model = LinearSVC(C=1.0).fit(vectorizer.fit_transform(_texts(train)), train.intents)
        return list(model.predict(vectorizer.transform(_texts(test))))

    def logistic_regression(features: tuple[Features, Features]) -> Callable[[], list[str]]:
        def fit() -> list[str]:
            model = LogisticRegression(C=10.0, max_iter=1000)
            model.fit(features[0].values["text"], train.intents)
            return list(model.predict(features[1].values["text"]))

        return fit

    fits = {"TF-IDF + linear SVM": tfidf_svm} | {
        f"LogReg on {encoder}": logistic_regression(features)
        for encoder, features in encoded.items()
    }
    rows = []
    for name, fit in fits.items():
        predicted, seconds = _timed(fit)
        rows.append(_peer_row(name, test.intents, predicted, seconds))
    return rows


def _finetuned(
    registry: PluginRegistry,
    train: Dataset,
    options: TrainingOptions,
    finetune: FinetuneOptions,
    settings: Settings,
    *,
    held_out: bool,
) -> tuple[PluginRegistry, float]:
    """The registry with its encoder fine-tuned on the head's training rows, and the time."""
    rows = rows_for_training(train, options, held_out=held_out)
    base, texts, labels = finetuning_rows(train, rows, registry)
    encoder = cached_finetuned_encoder(base, texts, labels, finetune, settings.cache_dir)
    metrics = json.loads((encoder / "finetune_metrics.json").read_text())
    tuned = with_plugin_settings(registry, text_encoder_settings(registry, str(encoder)), encoder)
    return tuned, float(metrics["finetune_seconds"])


Split = tuple[Features, list[str]]


def _featurized(
    registry: PluginRegistry, data: tuple[Dataset, Dataset, Dataset | None], settings: Settings
) -> tuple[Split, Split, Split | None]:
    """(features, intents) of the train, test and (if any) validation splits."""

    def split(dataset: Dataset) -> Split:
        return featurize(dataset, registry, settings.cache_dir, progress=False), dataset.intents

    train, test, val = data
    return split(train), split(test), split(val) if val is not None else None


def _english_slot(features: Features) -> Features | None:
    """The English encoder's slot alone, when every row has it: then it holds exactly what an
    English-only text plugin would embed (the multilingual plugin leaves it out only of texts
    the encoder cannot read), so no second pass of the encoder is needed."""
    if "text" not in features.specs or not features.present["text"].all():
        return None
    return Features(
        {"text": features.values["text"]},
        {"text": features.present["text"]},
        {"text": features.specs["text"]},
        {name: part for name, part in features.parts.items() if name == "text"},
    )


def _english_splits(
    splits: tuple[Split, Split, Split | None],
) -> tuple[Split, Split, Split | None] | None:
    """The splits with the English slot alone; None when a row of some split lacks it."""
    train, test, val = splits
    train_x, test_x = _english_slot(train[0]), _english_slot(test[0])
    val_x = _english_slot(val[0]) if val is not None else None
    if train_x is None or test_x is None or (val is not None and val_x is None):
        return None
    validation = (val_x, val[1]) if val_x is not None and val is not None else None
    return (train_x, train[1]), (test_x, test[1]), validation


def _fusion_rows(
    splits: tuple[Split, Split, Split | None],
    test_texts: list[str],
    variants: dict[str, TrainingOptions],
    *,
    label: str,
    extra_seconds: float = 0.0,
) -> list[Row]:
    train, (test_features, test_intents), validation = splits
    comparisons = compare_options(
        train, (test_features, test_intents, test_texts), variants, validation=validation
    )
    slots = "+".join(sorted(train[0].specs))
    return [
        {
            "name": f"fusion {row.name} [{slots}]{label}",
            **row.evaluation.metrics,
            "seconds": row.training_seconds + extra_seconds,
        }
        for row in comparisons
    ]


def _run(
    label: str,
    data: tuple[Dataset, Dataset, Dataset | None],
    settings: Settings,
    options: dict[str, object],
    strategies: list[str],
    finetune: FinetuneOptions | None,
    encoders: list[str],
) -> list[Row]:
    """The peers, then the fusion strategies on each encoder's slots (and, with the
    multilingual slot on, on the English slot alone too)."""
    train, test, val = data
    variants = {
        name: TrainingOptions.model_validate({**options, "strategy": name}) for name in strategies
    }
    english_only = Settings(home=settings.home)
    encoded: dict[str, tuple[Features, Features]] = {}
    fusion: list[Row] = []
    for encoder in encoders:
        registry = build_registry(settings, encoder)
        splits = _featurized(registry, data, settings)
        english = _english_splits(splits)
        if english is None:  # some row lacks the English slot: embed them all with it alone
            english = _featurized(build_registry(english_only, encoder), data, settings)
        # The peers read the English encoder on every row.
        encoded[encoder] = (english[0][0], english[1][0])
        fusion += _fusion_rows(splits, _texts(test), variants, label=f" {encoder}")
        if len(splits[0][0].specs) > 1:
            fusion += _fusion_rows(english, _texts(test), variants, label=f" {encoder}")
        if finetune is not None:
            some_options = next(iter(variants.values()))
            tuned, seconds = _finetuned(
                registry, train, some_options, finetune, settings, held_out=val is None
            )
            print(f"{label}: {encoder} fine-tuned in {seconds:.0f} s ({finetune.epochs} epochs)")
            fusion += _fusion_rows(
                _featurized(tuned, data, settings),
                _texts(test),
                variants,
                label=f" {encoder}+ft",
                extra_seconds=seconds,
            )
    print(f"\n{label}: {len(train)} train / {len(test)} test rows")
    return _peers(train, test, encoded) + fusion


def _print(rows: list[Row], with_oos: bool) -> None:
    header = f"{'model':<60} {'accuracy':>9} {'macro_f1':>9}"
    if with_oos:
        header += f" {'in_scope':>9} {'oos_recall':>10} {'oos_prec':>9}"
    header += f" {'train_s':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        line = f"{row['name']:<60} {row['accuracy']:>9.4f} {row['macro_f1']:>9.4f}"
        if with_oos:
            line += (
                f" {row['in_scope_accuracy']:>9.4f} {row['oos_recall']:>10.4f}"
                f" {row['oos_precision']:>9.4f}"
            )
        line += f" {row['seconds']:>8.1f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small slices, few epochs (smoke).")
    parser.add_argument(
        "--text-only", action="store_true", help="The English encoder's slot only, no USE."
    )
    parser.add_argument(
        "--encoders",
        nargs="+",
        choices=ENCODER_NAMES,
        help="Packaged English encoders to compare (default: the settings' text_encoder).",
    )
    parser.add_argument("--skip-clinc", action="store_true")
    parser.add_argument("--skip-banking", action="store_true")
    parser.add_argument("--every", type=int, help="Keep every Nth row of each split.")
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument(
        "--finetune-encoder", action="store_true", help="Add rows with the encoder fine-tuned."
    )
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument(
        "--train-defaults",
        action="store_true",
        help="Heads with `fusiondesk train`'s own epochs and patience (default: 60 and 8).",
    )
    parser.add_argument(
        "--oos-recall-target",
        type=float,
        default=OOS_RECALL_TARGET,
        help="CLINC150: the out-of-scope recall the threshold must reach on the val split.",
    )
    args = parser.parse_args()
    finetune = FinetuneOptions(epochs=args.finetune_epochs) if args.finetune_encoder else None
    plugins = {} if args.text_only else {"text": {"multilingual": True}}
    settings = Settings(plugins=plugins)
    encoders = args.encoders or [settings.text_encoder]
    every = args.every or (20 if args.quick else 1)
    options: dict[str, object] = {"epochs": 8 if args.quick else 60, "patience": 8}
    if args.train_defaults:
        options = {}
    if not args.skip_banking:
        train, test = (_slice(load_dataset(path), every) for path in BANKING)
        data = (train, test, None)
        rows = _run("BANKING77", data, settings, options, args.strategies, finetune, encoders)
        _print(rows, with_oos=False)
    if not args.skip_clinc:
        train, val, test = (
            _slice(load_dataset(Path(f"{CLINC}#{split}")), every)
            for split in ("train", "val", "test")
        )
        clinc_options = {
            **options,
            "oos_recall_target": args.oos_recall_target,
            "synthetic_outliers": SYNTHETIC_OUTLIERS,
        }
        data = (train, test, val)
        rows = _run(
            "CLINC150 full", data, settings, clinc_options, args.strategies, finetune, encoders
        )
        _print(rows, with_oos=True)


if __name__ == "__main__":
    main()
