"""A model directory's domain words: written by training, read (or absent) when served, and
handed to the plugins that use them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusiondesk.plugins import PluginRegistry
from fusiondesk.plugins.testing.fakes import FakeTextPlugin
from fusiondesk.plugins.voice import VoicePlugin
from fusiondesk.service.settings import Settings
from fusiondesk.service.training import TrainingOptions, train_from_file
from fusiondesk.service.training.vocabulary import domain_vocabulary
from fusiondesk.service.understanding.fusion.domain_words import (
    DOMAIN_WORDS_FILE,
    give_domain_words,
    model_domain_words,
    save_domain_words,
)
from fusiondesk.service.understanding.wiring import build_model_registry

ROWS = {
    "card_lost": ["I lost my card", "my card was stolen", "the ATM ate my card", "card gone"],
    "top_up": ["top-up failed", "my top-up is pending", "why is the top-up late", "top-up limit"],
}


def test_training_records_the_words_of_its_data_in_the_model(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(json.dumps({"text": t, "intent": i}) + "\n" for i, ts in ROWS.items() for t in ts)
    )
    registry = PluginRegistry()
    registry.register(FakeTextPlugin())
    out = tmp_path / "model"
    options = TrainingOptions(epochs=2, hidden_dim=8, batch_size=4)
    train_from_file(data, out, registry, options, cache_dir=None, progress=False)
    texts = [text for texts in ROWS.values() for text in texts]
    assert model_domain_words(out) == domain_vocabulary(texts) == ["card", "top-up"]


def test_a_model_without_words_or_with_a_broken_file_has_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert model_domain_words(tmp_path) == []  # trained before the file existed
    (tmp_path / DOMAIN_WORDS_FILE).write_text('{"words": "PIN"}')
    assert model_domain_words(tmp_path) == []
    (tmp_path / DOMAIN_WORDS_FILE).write_text("{not json")
    assert model_domain_words(tmp_path) == []
    assert "ignoring the domain words" in caplog.text


def test_the_served_model_words_reach_the_voice_plugin(tmp_path: Path, settings: Settings) -> None:
    save_domain_words(tmp_path, ["PIN", "top-up"])
    voice = build_model_registry(settings, tmp_path).get("voice")
    assert isinstance(voice, VoicePlugin) and voice.hint == "PIN, top-up"
    # plugins that take no words are left alone
    registry = PluginRegistry()
    registry.register(FakeTextPlugin())
    registry.register(voice)
    give_domain_words(registry, ["flight"])
    assert voice.hint == "flight"
