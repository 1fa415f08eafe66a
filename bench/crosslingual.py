"""Cross-lingual intent accuracy: one BANKING77 model, English training data only.

The model reads two text slots (all-MiniLM-L6-v2, English; USE multilingual v3) and is
trained with slot dropout on BANKING77 train.csv. It is scored on the English test split and
on 103 Spanish and 103 Chinese hand translations of test utterances
(``tests/fixtures/banking77_test_{es,zh}.jsonl``). "served" is what the service does: the text
plugin fills both slots, and leaves MiniLM's out of a text its English vocabulary does not cover
(``fusiondesk.plugins.text.coverage``); "USE only" masks MiniLM's slot on every row. The
ratio compares the served figures. Target: >= 80% of English accuracy.
``--quick`` trains on a slice (smoke run).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fusiondesk.plugins.text import MULTILINGUAL_SLOT
from fusiondesk.service.settings import Settings
from fusiondesk.service.training import (
    Dataset,
    TrainingOptions,
    featurize,
    load_dataset,
    train_model,
)
from fusiondesk.service.training.evaluation import evaluate_classifier
from fusiondesk.service.understanding.fusion import IntentClassifier
from fusiondesk.service.understanding.wiring import build_registry

ROOT = Path(__file__).resolve().parents[1]
BANKING = ROOT.parent / "shared" / "data" / "banking77"
FIXTURES = ROOT / "tests" / "fixtures"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Slices of train/test (smoke run).")
    parser.add_argument("--strategy", default=TrainingOptions().strategy)
    parser.add_argument("--members", type=int, default=TrainingOptions().members)
    args = parser.parse_args()
    settings = Settings(plugins={"text": {"multilingual": True}})
    registry = build_registry(settings)
    train = load_dataset(BANKING / "train.csv")
    if args.quick:
        train = Dataset(train.examples[::10], train.source, train.digest + "/10")
    features = featurize(train, registry, settings.cache_dir, progress=False)
    options = TrainingOptions(
        strategy=args.strategy, members=args.members, epochs=10 if args.quick else 60
    )
    classifier = IntentClassifier(train_model(features, train.intents, options).model)
    english_test = load_dataset(BANKING / "test.csv")
    if args.quick:
        english_test = Dataset(english_test.examples[::10], english_test.source, "quick")
    sets = {
        "English (test.csv)": english_test,
        "Spanish (hand-translated)": load_dataset(FIXTURES / "banking77_test_es.jsonl"),
        "Chinese (hand-translated)": load_dataset(FIXTURES / "banking77_test_zh.jsonl"),
    }
    print(
        f"\nstrategy {args.strategy}, {args.members} member(s), "
        f"trained on {len(train)} English rows"
    )
    header = f"{'language':<28} {'rows':>5} {'served':>8} {'USE only':>9} {'vs English':>11}"
    print(header)
    print("-" * len(header))
    english = None
    for name, dataset in sets.items():
        test = featurize(dataset, registry, settings.cache_dir, progress=False)
        texts = [example.inputs["text"] for example in dataset.examples]
        both = evaluate_classifier(classifier, test, dataset.intents, texts).accuracy
        use_only = test.rows(np.arange(len(test)))
        for slot in [s for s in use_only.specs if s != MULTILINGUAL_SLOT]:
            del use_only.values[slot], use_only.present[slot], use_only.specs[slot]
        alone = evaluate_classifier(classifier, use_only, dataset.intents, texts).accuracy
        english = english if english is not None else both
        print(f"{name:<28} {len(dataset):>5} {both:>8.4f} {alone:>9.4f} {both / english:>10.1%}")


if __name__ == "__main__":
    main()
