"""Audio for the voice tests: real encodings made with PyAV (FFmpeg inside), no fixtures on disk."""

from __future__ import annotations

import io
import wave
from fractions import Fraction

import av
import numpy as np

from fusiondesk.service.synth.voice import wav_bytes

# container -> (FFmpeg muxer, codec, sample rate): what browsers and phones send.
ENCODINGS = {
    "wav": ("wav", "pcm_s16le", 16_000),
    "flac": ("flac", "flac", 16_000),
    "ogg": ("ogg", "libopus", 48_000),
    "webm": ("webm", "libopus", 48_000),
    "m4a": ("ipod", "aac", 44_100),
    "mp3": ("mp3", "libmp3lame", 44_100),
}


def tone(seconds: float, rate: int = 16_000, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def encode(samples: np.ndarray, rate: int, container: str) -> bytes:
    """Mono float32 samples at ``rate`` in ``container`` (see ``ENCODINGS``)."""
    muxer, codec, codec_rate = ENCODINGS[container]
    resampler = av.AudioResampler(
        format="s16" if codec != "aac" else "fltp", layout="mono", rate=codec_rate
    )
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=muxer) as out:
        stream = out.add_stream(codec, rate=codec_rate, layout="mono")
        frame_size = stream.codec_context.frame_size or 1024
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :]
        source = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        source.sample_rate = rate
        source.pts = 0
        source.time_base = Fraction(1, rate)
        fifo = av.AudioFifo()
        for resampled in [*resampler.resample(source), *resampler.resample(None)]:
            resampled.pts = None
            fifo.write(resampled)
        while (frame := fifo.read(frame_size, partial=True)) is not None:
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def wav_to(container: str, wav: bytes) -> bytes:
    """Re-encode WAV bytes (espeak-ng's) into another container."""
    with av.open(io.BytesIO(wav), "r") as source:
        stream = source.streams.audio[0]
        rate = stream.rate
        chunks = [frame.to_ndarray().reshape(-1) for frame in source.decode(stream)]
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0
    return encode(samples, rate, container)


def video_without_audio(seconds: float = 1.0) -> bytes:
    """An MP4 holding one video track and no audio."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(int(seconds * 10)):
            image = np.full((48, 64, 3), index * 20 % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def long_silence_flac(seconds: float) -> bytes:
    """A genuinely long FLAC file that stays small: digital silence compresses to nearly nothing."""
    rate = 8_000
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        block = np.zeros((1, 4096), dtype=np.int16)
        for start in range(0, int(seconds * rate), 4096):
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def pcm(wav: bytes) -> tuple[np.ndarray, int]:
    """A 16-bit mono WAV's samples (float, full scale 1) and rate."""
    with wave.open(io.BytesIO(wav), "rb") as clip:
        raw = clip.readframes(clip.getnframes())
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768, clip.getframerate()


def to_wav(samples: np.ndarray, rate: int) -> bytes:
    """Float samples (full scale 1) as 16-bit WAV, clipped as a saturated input would be."""
    return wav_bytes((np.clip(samples, -1, 1) * 32767).astype(np.int16), rate)


def with_second_speaker(main: bytes, other: bytes, level_db: float) -> bytes:
    """``other`` talking over ``main``, ``level_db`` below it (RMS), at ``main``'s rate."""
    voice, rate = pcm(main)
    background, other_rate = pcm(other)
    assert other_rate == rate, "speak both clips at the same rate"
    background = np.resize(background, voice.size)  # loops a shorter clip under the whole
    gain = np.sqrt(np.mean(voice**2) / np.mean(background**2)) * 10 ** (level_db / 20)
    return to_wav(voice + gain * background, rate)
