"""The voice plugin on real speech: espeak-ng audio, the packaged Whisper models, real training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fusiondesk.plugins import Encoding, Part, PluginRegistry
from fusiondesk.plugins.voice import VoiceConfig, VoicePlugin
from fusiondesk.service.cli import main
from fusiondesk.service.settings import Settings
from fusiondesk.service.synth.voice import Delivery, espeak_available, speak, wav_bytes
from fusiondesk.service.training import TrainingOptions, train_from_file
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE
from tests.voice_audio import pcm, to_wav, wav_to, with_second_speaker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not espeak_available(),
        reason="espeak-ng is not installed (scripts/install-system-packages.sh installs it)",
    ),
]


@pytest.fixture(scope="module")
def voice(registry: PluginRegistry) -> VoicePlugin:
    plugin = registry.get("voice")
    assert isinstance(plugin, VoicePlugin)
    plugin.load()
    return plugin


def _hear(plugin: VoicePlugin, data: bytes) -> Encoding:
    [encoding] = plugin.embed([plugin.preprocess(Part("audio", data=data))])
    return encoding


@pytest.mark.parametrize(
    ("container", "sentence", "key_words"),
    [
        ("wav", "I lost my credit card yesterday", {"lost", "credit", "card"}),
        ("webm", "Please send me a new card because mine is broken", {"send", "new", "broken"}),
    ],
)
def test_spoken_request_is_transcribed_with_its_key_words(
    voice: VoicePlugin, container: str, sentence: str, key_words: set[str]
) -> None:
    audio = speak(sentence, Delivery(voice="en-us", speed=150))
    if container != "wav":
        audio = wav_to(container, audio)  # WebM/Opus: what a browser's MediaRecorder sends
    encoding = _hear(voice, audio)
    transcript = encoding.details["transcript"]
    heard = set(transcript.lower().replace(".", " ").replace(",", " ").split())
    assert key_words <= heard, transcript
    assert encoding.details["format"] == container
    assert encoding.details["language"] == "en"
    assert encoding.details["no_speech"] is False
    assert set(encoding.details["timings_ms"]) == {"decode", "vad", "transcribe", "embed"}
    assert set(encoding.slots) == {"voice_transcript", "voice_acoustic"}
    assert encoding.slots["voice_acoustic"].shape == (384,)
    # the transcript lands in the text space: close to the same words typed
    typed = voice.text_encoder.encode([sentence])[0]
    assert float(np.dot(typed, encoding.slots["voice_transcript"])) > 0.9


SENTENCE = "I lost my credit card yesterday"
KEY_WORDS = {"lost", "credit", "card"}


def _words(encoding: Encoding) -> set[str]:
    return set(str(encoding.details["transcript"]).lower().replace(".", " ").split())


@pytest.mark.parametrize(
    "condition",
    ["phone-line-8khz", "noise-10db", "quiet", "second-speaker", "saturated"],
)
def test_real_conditions_still_give_the_key_words(voice: VoicePlugin, condition: str) -> None:
    # Not here: 10 dB of white noise on an 8 kHz line, where tiny.en often fails on this
    # sentence ("my grandmother's car"); bench/voice_accuracy.py measures that condition.
    if condition == "phone-line-8khz":
        clip = speak(SENTENCE, Delivery(voice="en-us", speed=150, rate=8000))
    elif condition == "noise-10db":
        clip = speak(SENTENCE, Delivery(voice="en-us", speed=150, snr_db=10))
    else:
        clear, rate = pcm(speak(SENTENCE, Delivery(voice="en-us", speed=150)))
        if condition == "quiet":  # -30 dB: a caller far from the microphone
            clip = to_wav(clear * 10 ** (-30 / 20), rate)
        elif condition == "saturated":  # +20 dB into a 16-bit input: the peaks are cut off
            clip = to_wav(clear * 10, rate)
        else:  # someone else talking 10 dB below the caller
            other = speak("the weather will be sunny this afternoon", Delivery(voice="en-gb+f4"))
            clip = with_second_speaker(to_wav(clear, rate), other, -10)
    encoding = _hear(voice, clip)
    assert KEY_WORDS <= _words(encoding), encoding.details["transcript"]


def test_a_hint_longer_than_whisper_context_is_trimmed_not_fatal() -> None:
    # 600 words: far past the 448-token context that also holds the 224 new tokens.
    hint = ", ".join(["PIN", "top-up", "transfer", "cheque", "ATM", "card"] * 100)
    plugin = VoicePlugin(VoiceConfig(hotwords=hint))
    encoding = _hear(plugin, speak(SENTENCE))
    assert KEY_WORDS <= _words(encoding)
    fitted = plugin.transcriber.options_for(hint).hotwords
    assert fitted is not None and hint.startswith(fitted)
    assert 0 < encoding.details["hint_words"] == len(fitted.split(", ")) < 600


def test_silence_and_noise_give_no_speech_not_a_made_up_transcript(voice: VoicePlugin) -> None:
    rng = np.random.default_rng(0)
    hiss = (rng.standard_normal(16_000 * 3) * 300).astype(np.int16)
    for samples in (np.zeros(16_000 * 3, dtype=np.int16), hiss):
        encoding = _hear(voice, wav_bytes(samples, 16_000))
        assert encoding.slots == {}
        assert encoding.details["no_speech"] is True
        assert "transcript" not in encoding.details


def test_acoustic_slot_tells_voices_apart(voice: VoicePlugin) -> None:
    sentence = "I lost my credit card yesterday"
    low_voice = speak(sentence, Delivery(voice="en-us", pitch=20))
    high_voice = speak(sentence, Delivery(voice="en-us+f3", pitch=80, speed=170))
    low, low_again, high = (
        _hear(voice, clip).slots["voice_acoustic"] for clip in (low_voice, low_voice, high_voice)
    )

    def cosine(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))

    assert cosine(low, low_again) > 0.999  # a property of the clip, not of the run
    assert cosine(low, high) < 0.98  # the same words in another voice: another vector


def test_synth_voice_data_trains_a_model_with_both_voice_slots(
    tmp_path: Path, registry: PluginRegistry, settings: Settings, voice: VoicePlugin
) -> None:
    rows = {
        "card_lost": ["I lost my card", "my card was stolen", "I cannot find my card"],
        "balance": ["what is my balance", "how much money do I have", "show my balance"],
    }
    source = tmp_path / "intents.jsonl"
    source.write_text(
        "".join(json.dumps({"text": t, "intent": i}) + "\n" for i, ts in rows.items() for t in ts)
    )
    out = tmp_path / "spoken"
    result = CliRunner().invoke(
        main, ["synth", "voice", str(source), "--out", str(out), "--variants", "1"]
    )
    assert result.exit_code == 0, result.output
    spoken = [json.loads(line) for line in (out / "voice.jsonl").read_text().splitlines()]
    assert len(spoken) == 6
    assert all((out / row["audio"]).read_bytes()[:4] == b"RIFF" for row in spoken)
    assert {row["intent"] for row in spoken} == set(rows)

    model_dir = tmp_path / "model"
    train_from_file(
        out / "voice.jsonl",
        model_dir,
        registry,
        TrainingOptions(epochs=5, hidden_dim=64),
        cache_dir=settings.cache_dir,
        progress=False,
    )
    slots = {
        s["name"]: s["dim"] for s in json.loads((model_dir / CONFIG_FILE).read_text())["slots"]
    }
    assert slots == {"text": 384, "voice_transcript": 384, "voice_acoustic": 384}


@pytest.mark.slow
def test_multilingual_base_model_detects_the_language(tmp_path: Path) -> None:
    plugin = VoicePlugin(VoiceConfig(model="base", cache_dir=tmp_path))
    assert plugin.slots[1].dim == 512
    spanish = speak("Hola, quiero cancelar mi tarjeta, por favor. Muchas gracias.", Delivery("es"))
    encoding = _hear(plugin, spanish)
    assert encoding.details["language"] == "es"
    assert encoding.details["language_probability"] > 0.5
    assert "tarjeta" in encoding.details["transcript"].lower()
    assert encoding.slots["voice_acoustic"].shape == (512,)
