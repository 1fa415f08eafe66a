"""What audio a customer sent: the container by its magic bytes, its audio track and duration.

Everything here reads headers and packets, never decodes samples, so an over-long or bogus file
is refused in the API process for the price of parsing its container. The file name and the
declared media type are ignored: phones and browsers get both wrong often enough.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av

from fusiondesk.plugins.errors import InputTooLargeError, InvalidInputError, UnsupportedInputError


@dataclass(frozen=True)
class AudioFormat:
    name: str
    demuxer: str
    """FFmpeg's input format: the bytes are parsed as what they claim to be, nothing else."""


WAV = AudioFormat("wav", "wav")
FLAC = AudioFormat("flac", "flac")
OGG = AudioFormat("ogg", "ogg")
WEBM = AudioFormat("webm", "matroska")
MP4 = AudioFormat("mp4", "mp4")  # M4A is MP4 holding audio only
MP3 = AudioFormat("mp3", "mp3")
AAC = AudioFormat("aac", "aac")

FORMATS = {f.name: f for f in (WAV, FLAC, OGG, WEBM, MP4, MP3, AAC)}
ACCEPTED = "WAV, MP3, OGG/Opus, WebM/Opus, M4A/AAC or FLAC"

# Other things people upload by mistake, named so the error says what was sent.
NOT_AUDIO = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive",
}


@dataclass(frozen=True)
class AudioInfo:
    format: AudioFormat
    duration_s: float


def sniff_format(data: bytes) -> AudioFormat:
    """The container format by magic bytes; raises ``UnsupportedInputError`` for anything else."""
    if not data:
        raise InvalidInputError("The audio file is empty.", code="empty_audio")
    head = data[:16]
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska, which WebM is a profile of
        return WEBM
    if head[4:8] == b"ftyp":
        return MP4
    if head.startswith(b"ID3"):
        return MP3
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS sync word with layer 0: raw AAC
            return AAC
        if head[1] & 0xE0 == 0xE0:  # MPEG audio frame sync (layers 1-3)
            return MP3
    for magic, what in NOT_AUDIO.items():
        if head.startswith(magic):
            raise UnsupportedInputError(
                f"The file is {what}, not audio; send {ACCEPTED}.", code="not_audio"
            )
    raise UnsupportedInputError(
        f"Unrecognised audio format; send {ACCEPTED}.", code="unsupported_audio_format"
    )


def inspect_audio(data: bytes, *, max_bytes: int, max_duration_s: float) -> AudioInfo:
    """Check size, format, audio track and duration, reading no more than the headers need."""
    if len(data) > max_bytes:
        raise InputTooLargeError(
            f"The audio file is {len(data)} bytes; the limit is {max_bytes}.",
            code="audio_too_large",
        )
    audio_format = sniff_format(data)
    try:
        with av.open(
            io.BytesIO(data), "r", format=audio_format.demuxer, metadata_errors="ignore"
        ) as container:
            if not container.streams.audio:
                raise InvalidInputError(
                    f"The {audio_format.name} file has no audio track.", code="no_audio_track"
                )
            stream = container.streams.audio[0]
            duration = _header_duration(container, stream)
            if duration is not None and stream.codec_context.name.startswith("pcm_"):
                # Streamed WAV (espeak-ng --stdout, some phone gateways) writes a placeholder
                # length of ~2 GiB; uncompressed audio's true length is in its byte count.
                duration = min(duration, len(data) * 8 / (stream.bit_rate or 1))
            if duration is None:
                duration = _demuxed_duration(container, stream, stop_after_s=max_duration_s)
    except av.FFmpegError as error:
        raise InvalidInputError(
            f"The {audio_format.name} file is corrupt or truncated ({error.strerror}).",
            code="corrupt_audio",
        ) from error
    if duration > max_duration_s:
        raise InputTooLargeError(
            f"The audio lasts {duration:.0f} s; the limit is {max_duration_s:.0f} s.",
            code="audio_too_long",
        )
    if duration <= 0:
        raise InvalidInputError("The audio track holds no sound.", code="empty_audio")
    return AudioInfo(audio_format, duration)


def _header_duration(
    container: av.container.InputContainer, stream: av.AudioStream
) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(Fraction(container.duration, av.time_base))
    return None


def _demuxed_duration(
    container: av.container.InputContainer, stream: av.AudioStream, *, stop_after_s: float
) -> float:
    """The end of the last packet, for containers written without a duration (MediaRecorder's
    WebM); stops as soon as the limit is passed, so a long stream costs no more than that."""
    end = 0.0
    time_base = stream.time_base or Fraction(1, stream.rate or 1)
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        end = max(end, float((packet.pts + (packet.duration or 0)) * time_base))
        if end > stop_after_s:
            break
    return end
