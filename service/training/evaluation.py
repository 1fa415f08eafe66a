"""Scoring a model's predictions: accuracy, F1, per-intent figures and out-of-scope figures.

A prediction below the model's threshold, or of its explicit out-of-scope class, is an
abstention: the bot says "I don't know". On data with out-of-scope rows (gold intent
``out_of_scope``, or the model's own out-of-scope class) abstentions count as predicting
out-of-scope, which gives in-scope accuracy and out-of-scope recall/precision as in the
CLINC150 paper. On data without, accuracy is the plain top-1 accuracy and the answered share
and accuracy when answered are reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from fusiondesk.service.training.data import OUT_OF_SCOPE_INTENT
from fusiondesk.service.training.features import Features
from fusiondesk.service.understanding.fusion import IntentClassifier


@dataclass
class Evaluation:
    rows: int
    gold: list[str]
    predicted: list[str]
    """Top-1 intent, or ``out_of_scope`` where the model abstained on data with OOS rows."""
    confidence: list[float]
    answered: list[bool]
    texts: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    per_intent: dict[str, dict[str, float]] = field(default_factory=dict)
    combinations: list[str] = field(default_factory=list)
    """Per row, the part types it holds joined by ``+`` (``audio+text``); empty if not known."""

    @property
    def accuracy(self) -> float:
        return float(self.metrics["accuracy"])

    @property
    def macro_f1(self) -> float:
        return float(self.metrics["macro_f1"])

    @property
    def has_out_of_scope(self) -> bool:
        return "oos_recall" in self.metrics

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, **self.metrics}

    def per_combination(self) -> dict[str, dict[str, float]]:
        """Rows and accuracy for each combination of parts present, in order of appearance
        (empty when the rows' parts are not known)."""
        if not self.combinations:
            return {}
        hits: dict[str, list[bool]] = {}
        for combination, gold, predicted in zip(
            self.combinations, self.gold, self.predicted, strict=True
        ):
            hits.setdefault(combination, []).append(gold == predicted)
        return {
            combination: {"rows": len(row_hits), "accuracy": float(np.mean(row_hits))}
            for combination, row_hits in hits.items()
        }


def score(
    gold: list[str],
    probabilities: np.ndarray,
    intents: list[str],
    *,
    threshold: float,
    out_of_scope_intent: str | None,
    texts: list[str] | None = None,
) -> Evaluation:
    """Turn calibrated probabilities into an ``Evaluation`` against the gold intents."""
    top = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    top_intents = [intents[i] for i in top]
    answered = (confidence >= threshold) & np.array(
        [intent != out_of_scope_intent for intent in top_intents]
    )
    oos_labels = {OUT_OF_SCOPE_INTENT, out_of_scope_intent} - {None}
    gold = [OUT_OF_SCOPE_INTENT if label in oos_labels else label for label in gold]
    has_oos = OUT_OF_SCOPE_INTENT in gold
    if has_oos:
        predicted = [
            intent if ok else OUT_OF_SCOPE_INTENT
            for intent, ok in zip(top_intents, answered, strict=True)
        ]
    else:
        predicted = top_intents
    gold_array, predicted_array = np.array(gold), np.array(predicted)
    correct = gold_array == predicted_array
    metrics: dict[str, Any] = {
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(gold, predicted, average="weighted", zero_division=0)),
        "threshold": float(threshold),
    }
    if has_oos:
        in_scope = gold_array != OUT_OF_SCOPE_INTENT
        rejected = predicted_array == OUT_OF_SCOPE_INTENT
        metrics["in_scope_accuracy"] = float(correct[in_scope].mean()) if in_scope.any() else 0.0
        metrics["oos_recall"] = float(rejected[~in_scope].mean())
        metrics["oos_precision"] = float((~in_scope[rejected]).mean()) if rejected.any() else 0.0
    else:
        metrics["answered_share"] = float(answered.mean())
        metrics["accuracy_when_answered"] = (
            float(correct[answered].mean()) if answered.any() else 0.0
        )
    labels = sorted(set(gold) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    per_intent = {
        label: {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return Evaluation(
        rows=len(gold),
        gold=gold,
        predicted=predicted,
        confidence=[float(c) for c in confidence],
        answered=[bool(a) for a in answered],
        texts=texts if texts is not None else [""] * len(gold),
        metrics=metrics,
        per_intent=per_intent,
    )


def evaluate_classifier(
    classifier: IntentClassifier,
    features: Features,
    gold: list[str],
    texts: list[str],
    combinations: list[str] | None = None,
) -> Evaluation:
    """Score ``classifier`` on precomputed features, each message read as when serving."""
    spaces = {name: spec.space for name, spec in features.specs.items()}
    evaluation = score(
        gold,
        classifier.message_probabilities(features.as_slot_dicts(), spaces),
        classifier.intents,
        threshold=classifier.threshold,
        out_of_scope_intent=classifier.config.out_of_scope_intent,
        texts=texts,
    )
    evaluation.combinations = combinations or []
    return evaluation
