"""Built-in voice plugin: a voice message to what was said and how it was said.

``preprocess`` (API process) checks size, format and duration from the container's headers and
passes the original bytes on: decoding is the worker's job, and compressed audio is what should
cross a process boundary. ``encode`` decodes, trims silence, transcribes with faster-whisper and
fills two slots:

* ``voice_transcript``: the transcript through the text plugin's sentence encoder, in the shared
  ``text`` space, so a model trained on typed text understands speech;
* ``voice_acoustic``: the Whisper encoder's states, mean-pooled (its width follows the model).

A clip without speech yields no slots and ``details["no_speech"]``: no transcript is invented.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from fusiondesk.plugins.base import Encoding, ModalityPlugin, Part, Payload, PluginConfig, SlotSpec
from fusiondesk.plugins.errors import InvalidInputError, PluginLoadError
from fusiondesk.plugins.text import TEXT_DIM, TEXT_SPACE, text_slot
from fusiondesk.plugins.text.encoder import packaged_minilm_path, shared_sentence_encoder
from fusiondesk.plugins.voice.models import ENCODER_WIDTHS, model_folder

if TYPE_CHECKING:
    from fusiondesk.plugins.voice.transcriber import Transcription, WhisperTranscriber

WhisperSize = Literal[
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en"
]


class VoiceConfig(PluginConfig):
    model: WhisperSize = Field(
        default="tiny.en",
        description="'tiny.en' and 'base' ship as wheels; other sizes need model_path.",
    )
    model_path: Path | None = Field(
        default=None, description="A CTranslate2 Whisper folder of size 'model' to use instead."
    )
    cache_dir: Path | None = Field(
        default=None,
        exclude=True,  # where files live does not change the embeddings
        description="Where the split base model is assembled (the service sets HOME/cache/models).",
    )
    compute_type: str | None = Field(
        default=None, description="CTranslate2 compute type; default int8 on CPU, float16 on GPU."
    )
    cpu_threads: int = Field(default=0, ge=0, description="0: CTranslate2's default.")
    language: str | None = Field(
        default=None, description="Force a language; default English for '.en', else detected."
    )
    beam_size: int = Field(
        default=5,
        ge=1,
        le=10,
        description="Beam search width (1: greedy). Beam 5 cut tiny.en's word error rate on "
        "bench/voice_accuracy.py from 15% to 11%; bench/voice.py checks its real-time factor.",
    )
    hotwords: str | None = Field(
        default=None,
        description="Words given to Whisper as a prompt so it expects them ('PIN, top-up, "
        "ATM'). Unset: the served model's domain words, recorded by `fusiondesk train`; a "
        "list: those words instead; empty: no hint. Trimmed to Whisper's prompt budget.",
    )
    max_new_tokens: int = Field(default=224, ge=8, le=440, description="Per 30 s window.")
    vad: bool = Field(default=True, description="Cut long silences before transcribing.")
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_duration_s: float = Field(default=120.0, gt=0)
    time_budget_per_audio_s: float = Field(
        default=3.0,
        gt=0,
        description="Transcription stops after this many seconds per second of audio.",
    )
    min_duration_s: float = Field(
        default=0.3,
        ge=0,
        description="Shorter clips are refused (422 audio_too_short): not even one word fits.",
    )
    text_model_path: Path = Field(default_factory=packaged_minilm_path)


class VoicePlugin(ModalityPlugin):
    name = "voice"
    modality = "voice"
    part_types = ("audio",)
    slots = (
        SlotSpec("voice_transcript", TEXT_DIM, space=TEXT_SPACE),
        SlotSpec("voice_acoustic", ENCODER_WIDTHS["tiny.en"], space="whisper_tiny"),
    )
    max_batch_size = 8
    max_wait_ms = 5.0
    Config = VoiceConfig
    config: VoiceConfig
    transcriber: WhisperTranscriber

    def __init__(self, config: PluginConfig | None = None, *, device: str = "cpu") -> None:
        super().__init__(config, device=device)
        self._domain_hint: str | None = None
        # Acoustic vectors of different Whisper sizes are not interchangeable: own space each.
        size = self.config.model.removesuffix(".en")
        self.slots = (
            text_slot("voice_transcript", self.config.text_model_path),
            SlotSpec("voice_acoustic", ENCODER_WIDTHS[self.config.model], space=f"whisper_{size}"),
        )

    def setup(self) -> None:
        try:
            from fusiondesk.plugins.voice.transcriber import DecodingOptions, WhisperTranscriber
        except ImportError as error:
            raise PluginLoadError(self.name, f"install fusiondesk[voice] ({error})") from error
        config = self.config
        model_dir = model_folder(config.model, config.model_path, config.cache_dir)
        on_gpu = self.device.startswith("cuda")
        options = DecodingOptions(
            beam_size=config.beam_size,
            language=config.language,
            max_new_tokens=config.max_new_tokens,
            vad=config.vad,
        )
        try:
            self.transcriber = WhisperTranscriber(
                model_dir,
                options,
                device=self.device,
                compute_type=config.compute_type or ("float16" if on_gpu else "int8"),
                cpu_threads=config.cpu_threads,
                time_budget_per_audio_s=config.time_budget_per_audio_s,
            )
        except (RuntimeError, ValueError, OSError) as error:
            raise PluginLoadError(
                self.name, f"cannot load Whisper from {model_dir}: {error}"
            ) from error
        self.text_encoder = shared_sentence_encoder(config.text_model_path, self.device)

    def use_domain_words(self, words: Sequence[str]) -> None:
        """Hint Whisper with the served model's domain words, unless ``hotwords`` is set."""
        self._domain_hint = ", ".join(words) or None

    @property
    def hint(self) -> str | None:
        """The words Whisper is told to expect: the operator's, else the served model's."""
        if self.config.hotwords is not None:
            return self.config.hotwords or None
        return self._domain_hint

    def preprocess(self, part: Part) -> Payload:
        from fusiondesk.plugins.voice.formats import (
            inspect_audio,  # PyAV comes with fusiondesk[voice]
        )

        if not part.data:
            raise InvalidInputError(
                "An audio part needs the file's bytes ('data').", code="empty_audio"
            )
        info = inspect_audio(
            part.data, max_bytes=self.config.max_bytes, max_duration_s=self.config.max_duration_s
        )
        if info.duration_s < self.config.min_duration_s:
            raise InvalidInputError(
                f"The audio lasts {info.duration_s:.2f} s; a voice message needs at least "
                f"{self.config.min_duration_s:g} s.",
                code="audio_too_short",
            )
        # The hint travels with the clip: a Celery worker, which knows no model, transcribes
        # with the words of the model this API process serves, and a reload changes both.
        return {
            "audio": part.data,
            "format": info.format.name,
            "duration_s": info.duration_s,
            "hotwords": self.hint,
        }

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        transcriptions = [self._transcribe(payload) for payload in payloads]
        spoken = [t for t in transcriptions if not t.no_speech]
        started = time.perf_counter()
        vectors = self.text_encoder.encode([t.text for t in spoken])
        embed_ms = (time.perf_counter() - started) * 1000
        for transcription in spoken:
            transcription.timings_ms["embed"] = embed_ms
        transcript_vectors = dict(zip(map(id, spoken), vectors, strict=True))
        encodings = []
        for payload, transcription in zip(payloads, transcriptions, strict=True):
            details = {
                "format": payload["format"],
                "duration_s": round(transcription.duration_s, 3),
                "no_speech": transcription.no_speech,
                "timings_ms": {k: round(v, 1) for k, v in transcription.timings_ms.items()},
            }
            slots = {}
            if not transcription.no_speech:
                details |= {
                    "transcript": transcription.text,
                    "language": transcription.language,
                    "language_probability": transcription.language_probability,
                    "speech_s": round(transcription.speech_s, 3),
                    "truncated": transcription.truncated,
                    "hint_words": transcription.hint_words,
                }
                slots["voice_transcript"] = transcript_vectors[id(transcription)]
                if transcription.acoustic is not None:
                    slots["voice_acoustic"] = transcription.acoustic
            encodings.append(Encoding(slots=slots, details=details))
        return encodings

    def _transcribe(self, payload: Payload) -> Transcription:
        from fusiondesk.plugins.voice.decoding import decode_pcm
        from fusiondesk.plugins.voice.formats import FORMATS

        started = time.perf_counter()
        audio = decode_pcm(
            payload["audio"], FORMATS[payload["format"]], max_duration_s=self.config.max_duration_s
        )
        decode_ms = (time.perf_counter() - started) * 1000
        hint = payload["hotwords"] if "hotwords" in payload else self.hint
        transcription = self.transcriber.transcribe(audio, hotwords=hint)
        transcription.timings_ms = {"decode": decode_ms, **transcription.timings_ms}
        return transcription


__all__ = ["VoiceConfig", "VoicePlugin"]
