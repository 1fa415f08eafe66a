"""``fusiondesk evaluate MODEL data_full.json`` scores CLINC150's test split and says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import fusiondesk.service.training as training
import fusiondesk.service.understanding.fusion as fusion
import fusiondesk.service.understanding.wiring as wiring
from fusiondesk.service.cli import main
from fusiondesk.service.errors import DatasetError

CLINC = {
    "train": [["what is my balance", "balance"]],
    "val": [["balance please", "balance"]],
    "test": [["tell me my balance", "balance"], ["how much is in my account", "balance"]],
    "oos_test": [["what is the weather on mars", "oos"]],
}


@pytest.fixture
def scored(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each evaluation read (it stops there: no model is needed)."""
    rows: list[int] = []

    def evaluate_file(classifier: Any, data: Path, registry: Any, **kwargs: Any) -> None:
        rows.append(len(training.load_dataset(data)))
        raise DatasetError("stopped after reading the data")

    monkeypatch.setattr(fusion.IntentClassifier, "load", staticmethod(lambda model_dir: None))
    monkeypatch.setattr(wiring, "build_model_registry", lambda settings, model_dir: None)
    monkeypatch.setattr(training, "evaluate_file", evaluate_file)
    return rows


def test_a_clinc_file_without_a_split_is_scored_on_its_test_split(
    tmp_path: Path, scored: list[int]
) -> None:
    data = tmp_path / "data_full.json"
    data.write_text(json.dumps(CLINC))
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "model"), str(data)])
    assert result.output.splitlines()[0] == (
        f"{data} names no split: scoring its test split (data_full.json#test)"
    )
    assert scored == [3]  # test + oos_test, not the train split's single row

    named = CliRunner().invoke(main, ["evaluate", str(tmp_path / "model"), f"{data}#train"])
    assert "names no split" not in named.output and scored == [3, 1]
