"""Whisper's hint: the served model's domain words by default, the operator's words, or none;
it travels in the payload, so the process that transcribes uses the words of the model that the
process taking the message serves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from fusiondesk.plugins import InvalidInputError, Part, UsesDomainWords
from fusiondesk.plugins.voice import VoiceConfig, VoicePlugin
from fusiondesk.plugins.voice.transcriber import Transcription
from tests.voice_audio import encode, tone

CLIP = encode(tone(1.0), 16_000, "wav")


def _hint_sent(plugin: VoicePlugin) -> object:
    return plugin.preprocess(Part("audio", data=CLIP))["hotwords"]


def test_the_model_words_are_the_default_hint_and_a_new_model_brings_its_own() -> None:
    plugin = VoicePlugin()
    assert isinstance(plugin, UsesDomainWords)
    assert _hint_sent(plugin) is None  # no model told it any words yet
    plugin.use_domain_words(["PIN", "top-up", "ATM"])
    assert _hint_sent(plugin) == "PIN, top-up, ATM"
    plugin.use_domain_words(["flight", "itinerary"])
    assert _hint_sent(plugin) == "flight, itinerary"
    plugin.use_domain_words([])
    assert _hint_sent(plugin) is None


@pytest.mark.parametrize(("setting", "sent"), [("cheque, IBAN", "cheque, IBAN"), ("", None)])
def test_the_operators_hotwords_override_or_disable_the_model_words(
    setting: str, sent: str | None
) -> None:
    plugin = VoicePlugin(VoiceConfig(hotwords=setting))
    plugin.use_domain_words(["PIN", "top-up"])
    assert _hint_sent(plugin) == sent


class RecordingTranscriber:
    """Hears nothing, and notes the hint each clip was transcribed with."""

    def __init__(self) -> None:
        self.hints: list[str | None] = []

    def transcribe(self, audio: np.ndarray, *, hotwords: str | None = None) -> Transcription:
        self.hints.append(hotwords)
        return Transcription("", None, None, len(audio) / 16_000, 0.0, None)


class NoTextEncoder:
    """No clip is heard as speech here, so no transcript is ever embedded."""

    def encode(self, texts: list[str]) -> np.ndarray:
        assert not texts
        return np.zeros((0, 384), dtype=np.float32)


def _transcribing_plugin(words: Sequence[str]) -> tuple[VoicePlugin, RecordingTranscriber]:
    plugin = VoicePlugin()
    plugin.use_domain_words(words)
    plugin.transcriber = RecordingTranscriber()  # type: ignore[assignment]
    plugin.text_encoder = NoTextEncoder()  # type: ignore[assignment]
    plugin._loaded = True  # the fakes need no setup
    return plugin, plugin.transcriber  # type: ignore[return-value]


def test_the_transcribing_process_uses_the_hint_in_the_payload() -> None:
    api_side = VoicePlugin()
    api_side.use_domain_words(["PIN", "top-up"])
    payload = api_side.preprocess(Part("audio", data=CLIP))
    # A worker knows no model: its own plugin was told nothing, or other words.
    worker, transcriber = _transcribing_plugin(["stale"])
    [encoding] = worker.encode([payload])
    assert encoding.details["no_speech"] is True
    assert transcriber.hints == ["PIN, top-up"]
    # A payload from an API process older than the hint: the worker's own words.
    worker.encode([{key: value for key, value in payload.items() if key != "hotwords"}])
    assert transcriber.hints[-1] == "stale"


@pytest.mark.parametrize("seconds", [0.05, 0.25])
def test_a_clip_too_short_to_hold_a_word_is_refused_with_a_code(seconds: float) -> None:
    with pytest.raises(InvalidInputError) as caught:
        VoicePlugin().preprocess(Part("audio", data=encode(tone(seconds), 16_000, "wav")))
    assert caught.value.code == "audio_too_short"
    assert "at least 0.3 s" in str(caught.value)
    # the limit is a setting; at 0 only an empty track is refused
    lenient = VoicePlugin(VoiceConfig(min_duration_s=0))
    assert lenient.preprocess(Part("audio", data=encode(tone(seconds), 16_000, "wav")))
