"""Spoken training samples from typed ones, with Debian's espeak-ng.

Every utterance gets a voice, a speed, a pitch and a level of background noise drawn from a
seeded generator, so a fusion model meets some of the variety of real callers (and learns the
acoustic slot) without recorded data. The output is a folder of WAV files and a JSONL file that
``fusiondesk train`` reads: ``{"audio": "audio/000001-0.wav", "text": ..., "intent": ...}``.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from fusiondesk.service.errors import FusionDeskError

ESPEAK = "espeak-ng"
VOICES = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-us+f3",
    "en-gb+f4",
    "en-us+m3",
)
"""English voices and variants (+f: female, +m: male) that ship with espeak-ng itself."""
SPEEDS = (130, 200)
"""Words per minute, drawn uniformly (espeak-ng's default is 175)."""
PITCHES = (25, 75)
"""espeak-ng pitch, 0-99 (default 50)."""
SNR_DB = (15.0, 40.0)
"""Signal-to-noise ratio of the added background noise, in dB."""
JSONL_NAME = "voice.jsonl"


@dataclass(frozen=True)
class Delivery:
    """How one utterance is spoken."""

    voice: str = "en-us"
    speed: int = 160
    pitch: int = 50
    snr_db: float | None = None
    """None: no noise added."""
    rate: int | None = None
    """Resample to this rate after the noise, as a phone line does (8000: telephone band);
    None: espeak-ng's own rate."""

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Delivery:
        return cls(
            voice=str(rng.choice(VOICES)),
            speed=int(rng.integers(*SPEEDS, endpoint=True)),
            pitch=int(rng.integers(*PITCHES, endpoint=True)),
            snr_db=float(rng.uniform(*SNR_DB)),
        )


def espeak_available() -> bool:
    return shutil.which(ESPEAK) is not None


def speak(text: str, delivery: Delivery = Delivery(), *, seed: int = 0) -> bytes:
    """``text`` spoken by espeak-ng as WAV bytes, with noise at ``delivery.snr_db`` if set."""
    if not espeak_available():
        raise FusionDeskError(
            f"{ESPEAK} is not installed; install the Debian package espeak-ng "
            "(scripts/install-system-packages.sh does).",
            code="espeak_missing",
        )
    with tempfile.TemporaryDirectory(prefix="fusiondesk-speak-") as scratch:
        # -w writes a real WAV header (--stdout leaves the length as a placeholder); the text
        # goes through stdin so one starting with '-' is never read as an option.
        target = Path(scratch) / "speech.wav"
        command = [
            ESPEAK,
            "-v",
            delivery.voice,
            "-s",
            str(delivery.speed),
            "-p",
            str(delivery.pitch),
        ]
        completed = subprocess.run(
            [*command, "-w", str(target)], input=text.encode(), capture_output=True, check=False
        )
        if completed.returncode != 0 or not target.is_file():
            message = completed.stderr.decode(errors="replace").strip()
            raise FusionDeskError(f"{ESPEAK} failed on {text!r}: {message}", code="espeak_failed")
        with wave.open(str(target), "rb") as spoken:
            rate = spoken.getframerate()
            samples = np.frombuffer(spoken.readframes(spoken.getnframes()), dtype=np.int16)
    if delivery.snr_db is not None:
        samples = _add_noise(samples, delivery.snr_db, np.random.default_rng(seed))
    if delivery.rate is not None and delivery.rate != rate:
        samples, rate = resampled(samples, rate, delivery.rate), delivery.rate
    return wav_bytes(samples, rate)


def resampled(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """16-bit ``samples`` at ``new_rate``; going down, the band above its Nyquist is cut first
    (a polyphase filter), as a telephone line's codec does."""
    from scipy.signal import resample_poly  # see synthesize_voice_dataset on why here

    divisor = math.gcd(rate, new_rate)
    filtered = resample_poly(samples.astype(np.float64), new_rate // divisor, rate // divisor)
    clipped: np.ndarray = np.clip(np.round(filtered), -32768, 32767).astype(np.int16)
    return clipped


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """16-bit mono WAV."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def _add_noise(samples: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    signal = samples.astype(np.float64)
    power = float(np.mean(signal**2)) if signal.size else 0.0
    noise = rng.standard_normal(signal.size) * np.sqrt(power / 10 ** (snr_db / 10))
    noisy: np.ndarray = np.clip(signal + noise, -32768, 32767).astype(np.int16)
    return noisy


@dataclass(frozen=True)
class SynthSummary:
    rows: int
    jsonl: Path


def synthesize_voice_dataset(
    data: Path,
    out_dir: Path,
    *,
    variants: int = 2,
    seed: int = 0,
    limit: int | None = None,
    keep_text: bool = True,
    progress: bool = True,
) -> SynthSummary:
    """Speak every text row of ``data`` ``variants`` times into ``out_dir``."""
    # Imported here, as SciPy is: ``fusiondesk serve`` imports this module (the demo's voice
    # notes) at every start, and the training package with scikit-learn and SciPy would cost
    # each restart about two seconds for functions it only calls when it trains the demo.
    from fusiondesk.service.training.data import load_dataset

    rows = [
        (example.inputs["text"], example.intent)
        for example in load_dataset(data).examples
        if "text" in example.inputs
    ][:limit]
    if not rows:
        raise FusionDeskError(f"{data} has no text rows to speak.", code="invalid_dataset")
    audio_dir = out_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    jobs = [
        (f"audio/{row:06d}-{variant}.wav", text, intent, Delivery.draw(rng), seed + row)
        for row, (text, intent) in enumerate(rows)
        for variant in range(variants)
    ]

    def render(job: tuple[str, str, str, Delivery, int]) -> dict[str, str]:
        name, text, intent, delivery, job_seed = job
        (out_dir / name).write_bytes(speak(text, delivery, seed=job_seed))
        record = {"audio": name, "text": text} if keep_text else {"audio": name}
        return record | {"intent": intent}

    jsonl = out_dir / JSONL_NAME
    # espeak-ng is single-threaded: one process per core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool, jsonl.open("w") as out:
        records: Iterator[dict[str, str]] = pool.map(render, jobs)
        for record in tqdm(records, total=len(jobs), desc="speaking", disable=not progress):
            out.write(json.dumps(record) + "\n")
    return SynthSummary(len(jobs), jsonl)
