from __future__ import annotations

import struct

import numpy as np
import pytest

from fusiondesk.plugins import InputTooLargeError, InvalidInputError, UnsupportedInputError
from fusiondesk.plugins.voice.decoding import SAMPLE_RATE, decode_pcm
from fusiondesk.plugins.voice.formats import inspect_audio, sniff_format
from tests.voice_audio import ENCODINGS, encode, tone, video_without_audio

LIMITS = {"max_bytes": 1 << 20, "max_duration_s": 60.0}
EXPECTED_NAME = {"m4a": "mp4"}


@pytest.mark.parametrize("container", sorted(ENCODINGS))
def test_every_accepted_container_is_sniffed_timed_and_decoded(container: str) -> None:
    data = encode(tone(1.5), 16_000, container)
    info = inspect_audio(data, **LIMITS)
    assert info.format.name == EXPECTED_NAME.get(container, container)
    assert info.duration_s == pytest.approx(1.5, abs=0.1)
    samples = decode_pcm(data, info.format, max_duration_s=60)
    assert samples.dtype == np.float32
    assert len(samples) / SAMPLE_RATE == pytest.approx(1.5, abs=0.1)
    # the 440 Hz tone survives: most of its energy sits at that frequency
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)[spectrum.argmax()] == pytest.approx(
        440, abs=5
    )


def test_the_file_name_does_not_matter_the_bytes_do() -> None:
    flac = encode(tone(0.5), 16_000, "flac")
    assert sniff_format(flac).name == "flac"  # whatever the upload called it


@pytest.mark.parametrize(
    ("data", "error", "code"),
    [
        (b"", InvalidInputError, "empty_audio"),
        (np.random.default_rng(0).bytes(4096), UnsupportedInputError, "unsupported_audio_format"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), UnsupportedInputError, "not_audio"),
        (b"%PDF-1.7\n" + bytes(64), UnsupportedInputError, "not_audio"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(8), InvalidInputError, "corrupt_audio"),
    ],
    ids=["empty", "random", "png", "pdf", "truncated-wav"],
)
def test_unusable_bytes_are_refused_with_a_reason(
    data: bytes, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as caught:
        inspect_audio(data, **LIMITS)
    assert getattr(caught.value, "code", None) == code


def test_video_without_audio_track_is_refused() -> None:
    with pytest.raises(InvalidInputError) as caught:
        inspect_audio(video_without_audio(), **LIMITS)
    assert caught.value.code == "no_audio_track"


def test_size_and_duration_limits_apply_before_decoding() -> None:
    data = encode(tone(3.0), 16_000, "ogg")
    with pytest.raises(InputTooLargeError) as caught:
        inspect_audio(data, max_bytes=1024, max_duration_s=60)
    assert caught.value.code == "audio_too_large"
    with pytest.raises(InputTooLargeError) as caught:
        inspect_audio(data, max_bytes=1 << 20, max_duration_s=2.0)
    assert caught.value.code == "audio_too_long"


def test_streamed_wav_placeholder_length_is_read_from_the_bytes() -> None:
    wav = bytearray(encode(tone(1.0), 16_000, "wav"))
    data_at = wav.index(b"data") + 4
    wav[4:8] = struct.pack("<I", 0x7FFFFFFF)  # what `espeak-ng --stdout` and streams write
    wav[data_at : data_at + 4] = struct.pack("<I", 0x7FFFF000)
    assert inspect_audio(bytes(wav), **LIMITS).duration_s == pytest.approx(1.0, abs=0.01)


def test_decoding_stops_at_the_duration_limit() -> None:
    data = encode(tone(3.0), 16_000, "flac")
    samples = decode_pcm(data, sniff_format(data), max_duration_s=1.0)
    assert len(samples) == SAMPLE_RATE
