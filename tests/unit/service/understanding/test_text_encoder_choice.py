"""A model records its packaged text encoder; every plugin that embeds text serves that one."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest

import fusiondesk.service.understanding.fusion.encoders as encoders
from fusiondesk.plugins import PluginRegistry
from fusiondesk.plugins.text.packaged import ENCODER_NAMES, MANIFEST_FILE
from fusiondesk.service.cli.training import ENCODER_NAMES as CLI_ENCODER_NAMES
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.fusion import SlotConfig
from fusiondesk.service.understanding.fusion.encoders import (
    model_text_encoder,
    record_text_encoder,
    registry_text_encoder,
)
from fusiondesk.service.understanding.wiring import build_model_registry, build_registry

FAKE_WIDTH = 32
TEXT_SLOTS = {"text": "model_path", "voice": "text_model_path", "image": "text_model_path"}
"""Each plugin that embeds text, and its setting naming the encoder."""
SLOT_OF = {"text": "text", "voice": "voice_transcript", "image": "image_text"}


@pytest.fixture
def fake_mpnet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that passes for the unpacked mpnet (no weights: plugins load lazily)."""
    folder = tmp_path / "all-mpnet-base-v2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"hidden_size": FAKE_WIDTH}))
    (folder / MANIFEST_FILE).write_text(json.dumps({"encoder": "mpnet"}))
    asked = []

    def packaged_encoder_path(name: str, cache_dir: Path) -> Path:
        asked.append((name, cache_dir))
        return folder

    monkeypatch.setattr(encoders, "packaged_encoder_path", packaged_encoder_path)
    return folder


def _model_dir(tmp_path: Path, slots: list[dict[str, object]]) -> Path:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text(json.dumps({"intents": ["a", "b"], "slots": slots}))
    return model_dir


def _assert_text_plugins_use(registry: PluginRegistry, folder: Path, width: int) -> None:
    for plugin in registry:
        if plugin.name in TEXT_SLOTS:
            assert getattr(plugin.config, TEXT_SLOTS[plugin.name]) == folder, plugin.name
            [slot] = [s for s in plugin.slots if s.name == SLOT_OF[plugin.name]]
            assert slot.dim == width, plugin.name


def test_the_encoder_names_agree_everywhere() -> None:
    settings_names = typing.get_args(Settings.model_fields["text_encoder"].annotation)
    assert ENCODER_NAMES == CLI_ENCODER_NAMES == settings_names


def test_a_model_that_records_no_encoder_is_served_with_minilm(
    tmp_path: Path, settings: Settings
) -> None:
    old = _model_dir(tmp_path, [{"name": "text", "dim": 384, "space": "text"}])
    assert model_text_encoder(old) == "minilm"
    assert model_text_encoder(tmp_path / "missing") == "minilm"
    mpnet_default = settings.model_copy(update={"text_encoder": "mpnet"})
    # The settings' encoder is for new models; the old model keeps the one it was trained on.
    assert registry_text_encoder(build_model_registry(mpnet_default, old)) == "minilm"


def test_a_model_that_records_mpnet_gets_it_in_every_text_plugin(
    tmp_path: Path, settings: Settings, fake_mpnet: Path
) -> None:
    model_dir = _model_dir(
        tmp_path,
        [
            {"name": "text", "dim": FAKE_WIDTH, "space": "text", "encoder": "mpnet"},
            {"name": "image_visual", "dim": 8, "space": "image_visual"},
        ],
    )
    assert model_text_encoder(model_dir) == "mpnet"
    registry = build_model_registry(settings, model_dir)
    _assert_text_plugins_use(registry, fake_mpnet, FAKE_WIDTH)
    assert registry_text_encoder(registry) == "mpnet"


def test_the_setting_picks_the_encoder_of_new_models_unless_a_model_path_is_set(
    settings: Settings, fake_mpnet: Path
) -> None:
    assert registry_text_encoder(build_registry(settings)) == "minilm"
    mpnet = settings.model_copy(update={"text_encoder": "mpnet"})
    _assert_text_plugins_use(build_registry(mpnet), fake_mpnet, FAKE_WIDTH)
    own = fake_mpnet.parent / "own-encoder"
    own.mkdir()
    (own / "config.json").write_text(json.dumps({"hidden_size": 16}))
    explicit = mpnet.model_copy(update={"plugins": {"text": {"model_path": own}}})
    text = build_registry(explicit).get("text")
    assert text.config.model_path == own and text.slots[0].dim == 16  # type: ignore[attr-defined]


def test_only_text_space_slots_record_the_encoder() -> None:
    slots = [
        SlotConfig(name="text", dim=768, space="text"),
        SlotConfig(name="text_multilingual", dim=512, space="text_multilingual"),
        SlotConfig(name="voice_transcript", dim=768, space="text"),
    ]
    record_text_encoder(slots, "mpnet")
    assert [slot.encoder for slot in slots] == ["mpnet", None, "mpnet"]
