from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import fusiondesk.service.training as training
import fusiondesk.service.understanding.wiring as wiring
from fusiondesk.service.cli import main
from fusiondesk.service.cli.training import STRATEGY_NAMES
from fusiondesk.service.errors import DatasetError
from fusiondesk.service.understanding.fusion.strategies import STRATEGIES


def test_the_strategy_choices_are_the_fusion_strategies() -> None:
    assert STRATEGY_NAMES == STRATEGIES


def test_train_keeps_faster_whisper_per_clip_lines_out_of_the_progress_bar(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    whisper = logging.getLogger("faster_whisper")
    monkeypatch.setattr(whisper, "level", logging.NOTSET)
    levels_while_training = []

    def train_from_file(*args: Any, **kwargs: Any) -> None:
        levels_while_training.append(whisper.getEffectiveLevel())
        raise DatasetError("stopped after featurising")

    monkeypatch.setattr(training, "train_from_file", train_from_file)
    monkeypatch.setattr(wiring, "build_registry", lambda settings: None)
    result = CliRunner().invoke(
        main, ["train", str(tmp_path / "data.jsonl"), "--out", str(tmp_path / "model")]
    )
    assert "stopped after featurising" in result.output and result.exit_code == 1
    assert levels_while_training == [logging.WARNING]
    assert whisper.level == logging.NOTSET  # restored for whoever runs next in this process
