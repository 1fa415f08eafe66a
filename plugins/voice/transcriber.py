"""Speech to text with faster-whisper, plus the Whisper encoder's pooled states for free.

One decoded clip goes through Silero VAD (long silences cut; a clip without speech stops here),
Whisper transcription, and the acoustic vector. The acoustic vector
is the mean of the encoder states over the first window's speech frames; it is taken from the
encoder pass the decoder runs anyway (``_TappedWhisperModel``), so it costs no second pass.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

from fusiondesk.plugins.voice.decoding import SAMPLE_RATE

MIN_SPEECH_S = 0.1
MIN_TIME_BUDGET_S = 5.0
END_TOLERANCE_S = 1.0
"""A last segment ending this close to the end of the speech covers it (trailing silence)."""
"""Floor of the per-clip time budget: a short clip still pays a whole 30 s encoder window."""
MAX_TOKENS = 448
"""Whisper's decoder context: prompt (hotwords) + special tokens + generated tokens."""
SPECIAL_PROMPT_TOKENS = 5
"""<|startofprev|>, <|startoftranscript|>, language, task, <|notimestamps|>."""


@dataclass(frozen=True)
class DecodingOptions:
    """How Whisper decodes; shared by the plugin and the benchmark's raw baseline."""

    beam_size: int = 1
    language: str | None = None
    max_new_tokens: int = 224
    vad: bool = True
    hotwords: str | None = None
    """The transcriber takes its hint per clip (``transcribe(hotwords=...)``), not from here."""

    def transcribe_kwargs(self) -> dict[str, Any]:
        return {
            "beam_size": self.beam_size,
            "language": self.language,
            "max_new_tokens": self.max_new_tokens,
            # Prompted into every window (unlike initial_prompt, only the first one).
            "hotwords": self.hotwords,
            # A window never sees the previous window's text, so one hallucination cannot seed
            # a loop; timestamps are not needed and cost tokens.
            "condition_on_previous_text": False,
            "without_timestamps": True,
        }


class _Tokenizer(Protocol):
    def encode(self, text: str) -> Any: ...


def fit_hotwords(options: DecodingOptions, tokenizer: _Tokenizer) -> DecodingOptions:
    """``options`` with the hotwords cut, at a word boundary, to what Whisper's context allows.

    A longer prompt would make faster-whisper fail on every clip: prompt plus
    ``max_new_tokens`` must fit in the decoder's context.
    """
    if not options.hotwords:
        return replace(options, hotwords=None)
    budget = min(MAX_TOKENS // 2 - 1, MAX_TOKENS - options.max_new_tokens - SPECIAL_PROMPT_TOKENS)
    words = options.hotwords.split()[:budget]  # every word is at least one token

    def hint(count: int) -> str:
        return " ".join(words[:count]).rstrip(",")  # a cut list ends on a word, not a comma

    count = len(words)
    # faster-whisper encodes the hint with a leading space.
    while count and len(tokenizer.encode(" " + hint(count)).ids) > budget:
        count -= 1
    return replace(options, hotwords=hint(count) or None)


@dataclass
class Transcription:
    text: str
    language: str | None
    language_probability: float | None
    duration_s: float
    speech_s: float
    acoustic: np.ndarray | None
    truncated: bool = False
    hint_words: int = 0
    """How many words Whisper was told to expect (after trimming to its prompt budget)."""
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def no_speech(self) -> bool:
        return not self.text


class _TappedWhisperModel(WhisperModel):  # type: ignore[misc]  # faster-whisper is untyped
    """A ``WhisperModel`` that keeps the pooled encoder states of the first window it encodes."""

    first_window: np.ndarray | None = None

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        states = super().encode(features)
        if self.first_window is None:
            self.first_window = _pool_speech_frames(states, features)
        return states


def _pool_speech_frames(states: ctranslate2.StorageView, features: np.ndarray) -> np.ndarray:
    """Mean of the encoder states over the frames that hold audio, not the window's padding.

    Windows are padded with exact zeros, which real log-mel frames never are; the encoder halves
    the frame rate.
    """
    if states.device != "cpu":
        states = states.to_device(ctranslate2.Device.cpu)
    if states.dtype != ctranslate2.DataType.float32:
        states = states.to(ctranslate2.DataType.float32)
    matrix = np.asarray(states)[0]
    mel_frames = int(np.any(features.reshape(features.shape[-2], -1) != 0, axis=0).sum())
    frames = min(max(1, math.ceil(mel_frames / 2)), matrix.shape[0])
    pooled: np.ndarray = matrix[:frames].mean(axis=0)
    return pooled


class WhisperTranscriber:
    def __init__(
        self,
        model_dir: Path,
        options: DecodingOptions,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        time_budget_per_audio_s: float = 3.0,
    ) -> None:
        kind, _, index = device.partition(":")
        self.model = _TappedWhisperModel(
            str(model_dir),
            device=kind,
            device_index=int(index or 0),
            compute_type=compute_type,
            cpu_threads=cpu_threads,
        )
        self.options = options
        # A hint is fitted to the prompt budget once, not per clip; a server sees one hint per
        # model it serves, so a few entries hold them all.
        self.options_for = functools.lru_cache(maxsize=8)(self._fitted_options)
        self.time_budget_per_audio_s = time_budget_per_audio_s
        self.vad_options = VadOptions()
        # The tap is per model; CTranslate2 runs one generation at a time here anyway.
        self._lock = threading.Lock()

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    def _fitted_options(self, hotwords: str | None) -> DecodingOptions:
        return fit_hotwords(replace(self.options, hotwords=hotwords), self.model.hf_tokenizer)

    def transcribe(self, audio: np.ndarray, *, hotwords: str | None = None) -> Transcription:
        """Transcribe 16 kHz mono float32 samples, telling Whisper to expect ``hotwords``."""
        options = self.options_for(hotwords)
        started = time.perf_counter()
        speech = self._speech(audio)
        trimmed = time.perf_counter()
        duration_s = len(audio) / SAMPLE_RATE
        timings = {"vad": (trimmed - started) * 1000}
        if len(speech) < MIN_SPEECH_S * SAMPLE_RATE:
            return Transcription("", None, None, duration_s, 0.0, None, timings_ms=timings)
        budget_s = max(MIN_TIME_BUDGET_S, self.time_budget_per_audio_s * duration_s)
        texts: list[str] = []
        truncated = False
        with self._lock:
            self.model.first_window = None
            segments, info = self.model.transcribe(
                speech, vad_filter=False, **options.transcribe_kwargs()
            )
            speech_s = len(speech) / SAMPLE_RATE
            for segment in segments:
                texts.append(segment.text.strip())
                # Each window is bounded by max_new_tokens; the budget bounds the windows. A
                # segment that reaches the end of the speech leaves nothing out, however slow.
                if time.perf_counter() - trimmed > budget_s:
                    truncated = segment.end < speech_s - END_TOLERANCE_S
                    break
            acoustic = self.model.first_window
        timings["transcribe"] = (time.perf_counter() - trimmed) * 1000
        return Transcription(
            text=" ".join(text for text in texts if text),
            language=info.language,
            language_probability=round(float(info.language_probability), 4),
            duration_s=duration_s,
            speech_s=speech_s,
            acoustic=acoustic,
            truncated=truncated,
            hint_words=len(options.hotwords.split(",")) if options.hotwords else 0,
            timings_ms=timings,
        )

    def _speech(self, audio: np.ndarray) -> np.ndarray:
        if not self.options.vad:
            return audio
        chunks = get_speech_timestamps(audio, self.vad_options, sampling_rate=SAMPLE_RATE)
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        pieces, _ = collect_chunks(audio, chunks, sampling_rate=SAMPLE_RATE)
        speech: np.ndarray = np.concatenate(pieces)
        return speech
