"""The voice plugin's contract side: settings, slots, and the router's no-speech answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from fusiondesk.plugins import Encoding, InvalidInputError, Part, Payload, PluginRegistry, SlotSpec
from fusiondesk.plugins.voice import VoiceConfig, VoicePlugin
from fusiondesk.service.errors import RequestRejectedError
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import InlineExecutor
from fusiondesk.service.understanding.fusion import (
    FusionConfig,
    FusionModel,
    IntentClassifier,
    SlotConfig,
)
from fusiondesk.service.understanding.router import Router
from tests.unit.fakes import FakeTextPlugin


def test_voice_model_setting_reaches_the_plugin_with_the_cache(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, voice_model="base")
    assert settings.plugins["voice"] == {
        "model": "base",
        "cache_dir": tmp_path / "cache" / "models",
    }
    untouched = Settings(home=tmp_path)
    assert "voice" not in untouched.plugins


@pytest.mark.parametrize(("model", "width"), [("tiny.en", 384), ("base", 512)])
def test_acoustic_slot_width_follows_the_whisper_size(model: str, width: int) -> None:
    registry = PluginRegistry.discover(
        configs={"voice": {"model": model}}, autoload_third_party=False
    )
    specs = registry.slot_specs()
    assert specs["voice_acoustic"].dim == width
    assert specs["voice_transcript"] == SlotSpec("voice_transcript", 384, space="text")
    assert VoicePlugin.slots[1].dim == 384  # the class default is left alone


def test_cache_location_does_not_change_the_fingerprint(tmp_path: Path) -> None:
    one = VoicePlugin(VoiceConfig(cache_dir=tmp_path / "a"))
    other = VoicePlugin(VoiceConfig(cache_dir=tmp_path / "b"))
    assert one.fingerprint() == other.fingerprint()
    assert one.fingerprint() != VoicePlugin(VoiceConfig(beam_size=1)).fingerprint()


def test_audio_part_without_bytes_is_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        VoicePlugin().preprocess(Part("audio"))
    assert caught.value.code == "empty_audio"


class SilentVoicePlugin(FakeTextPlugin):
    """Hears nothing: no slots, ``no_speech`` in the details, like the voice plugin on silence."""

    name = "silent_voice"
    part_types = ("audio",)
    slots = (SlotSpec("voice_transcript", 8, space="text"),)

    def preprocess(self, part: Part) -> Payload:
        return {}

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        return [Encoding({}, {"no_speech": True}) for _ in payloads]


def _router() -> Router:
    registry = PluginRegistry()
    registry.register(FakeTextPlugin())
    registry.register(SilentVoicePlugin())
    model = FusionModel(
        FusionConfig(
            intents=["x", "y"], slots=[SlotConfig(name="text", dim=8, space="text")], hidden_dim=8
        )
    )
    return Router(registry, InlineExecutor(registry), IntentClassifier(model))


def test_silence_alone_is_a_no_speech_rejection() -> None:
    with pytest.raises(RequestRejectedError) as caught:
        asyncio.run(_router().understand([Part("audio", data=b"...")]))
    assert caught.value.code == "no_speech"
    assert caught.value.status == 422


def test_silence_beside_text_still_answers_and_says_so() -> None:
    understanding = asyncio.run(
        _router().understand([Part("text", text="hello"), Part("audio", data=b"...")])
    )
    assert understanding.prediction.intent in {"x", "y"}
    assert understanding.parts[1].details == {"no_speech": True}
    assert understanding.parts[1].slots == []


class WordTokenizer:
    """One token per word, plus one for each comma: enough to check the prompt budget."""

    class Encoded:
        def __init__(self, count: int) -> None:
            self.ids = list(range(count))

    def encode(self, text: str) -> WordTokenizer.Encoded:
        return self.Encoded(len(text.split()) + text.count(","))


def test_hotwords_reach_whisper_and_change_the_fingerprint() -> None:
    transcriber = pytest.importorskip("fusiondesk.plugins.voice.transcriber")
    options = transcriber.DecodingOptions(hotwords="PIN, top-up")
    assert options.transcribe_kwargs()["hotwords"] == "PIN, top-up"
    plain = VoicePlugin(VoiceConfig())
    assert plain.fingerprint() != VoicePlugin(VoiceConfig(hotwords="PIN")).fingerprint()


def test_hotwords_are_cut_at_a_word_to_fit_whisper_context() -> None:
    transcriber = pytest.importorskip("fusiondesk.plugins.voice.transcriber")
    words = ", ".join(f"word{i}" for i in range(300))
    # 448 tokens of context - 400 new tokens - 5 special ones = 43: 22 words and 21 commas
    options = transcriber.DecodingOptions(max_new_tokens=400, hotwords=words)
    fitted = transcriber.fit_hotwords(options, WordTokenizer())
    assert fitted.hotwords == ", ".join(f"word{i}" for i in range(22))
    assert fitted.max_new_tokens == 400
    # never more than half the context, however few tokens are generated
    short = transcriber.DecodingOptions(max_new_tokens=8, hotwords=words)
    assert len(transcriber.fit_hotwords(short, WordTokenizer()).hotwords.split()) == 112


def test_blank_hotwords_are_no_hint() -> None:
    transcriber = pytest.importorskip("fusiondesk.plugins.voice.transcriber")
    for blank in ("", "   ", None):
        options = transcriber.DecodingOptions(hotwords=blank)
        assert transcriber.fit_hotwords(options, WordTokenizer()).hotwords is None
