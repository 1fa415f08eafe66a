"""``fusiondesk evaluate`` on messages of several parts: accuracy per combination of parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.settings import Settings
from fusiondesk.service.training import evaluate_file
from fusiondesk.service.training.report import format_metrics
from fusiondesk.service.understanding.fusion import IntentClassifier
from tests.images import encode, error_dialog, parcel_photo

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_accuracy_is_reported_per_combination_of_parts(
    demo_model_dir: Path, registry: PluginRegistry, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "dialog.png").write_bytes(encode(error_dialog("Error 504: payment failed"), "PNG"))
    (tmp_path / "photo.png").write_bytes(encode(parcel_photo(), "PNG"))
    rows = [
        {"text": "where is my parcel", "intent": "order_status"},
        {"text": "my card was declined", "intent": "payment_failed"},
        {"image": "dialog.png", "intent": "payment_failed"},
        {"text": "see attached", "image": "dialog.png", "intent": "payment_failed"},
        # A textless photo and a caption that says nothing: a miss the table must show.
        {"text": "see attached", "image": "photo.png", "intent": "damaged_item"},
    ]
    data = tmp_path / "messages.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))

    evaluation = evaluate_file(
        IntentClassifier.load(demo_model_dir),
        data,
        registry,
        cache_dir=settings.cache_dir,
        progress=False,
    )

    combinations = evaluation.per_combination()
    assert combinations == {
        "text": {"rows": 2, "accuracy": 1.0},
        "image": {"rows": 1, "accuracy": 1.0},
        "image+text": {"rows": 2, "accuracy": 0.5},
    }
    figures = dict(line.split() for line in format_metrics(evaluation))
    assert figures["rows[image+text]"] == "2" and figures["accuracy[image+text]"] == "0.5000"
    assert float(figures["accuracy"]) == pytest.approx(0.8)
