"""Audio bytes to the 16 kHz mono float32 samples Whisper reads, with PyAV (FFmpeg inside).

faster-whisper's own ``decode_audio`` runs a full ``gc.collect()`` per file, which in a
process holding torch and transformers stalls every thread for a sizeable fraction of a
second; this decoder resamples straight to float32, skips damaged packets instead of ending at
the first, and stops at the duration limit even when a header understated the length.
"""

from __future__ import annotations

import io

import av
import numpy as np

from fusiondesk.plugins.voice.formats import AudioFormat

SAMPLE_RATE = 16_000


def decode_pcm(data: bytes, audio_format: AudioFormat, *, max_duration_s: float) -> np.ndarray:
    limit = int(max_duration_s * SAMPLE_RATE)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    samples = 0
    with av.open(
        io.BytesIO(data), "r", format=audio_format.demuxer, metadata_errors="ignore"
    ) as box:
        stream = box.streams.audio[0]
        for packet in box.demux(stream):
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                continue
            for frame in frames:
                frame.pts = None  # the resampler need not check timestamps of decoded audio
                for resampled in resampler.resample(frame):
                    chunks.append(resampled.to_ndarray()[0])
                    samples += resampled.samples
            if samples >= limit:
                break
        else:
            chunks.extend(resampled.to_ndarray()[0] for resampled in resampler.resample(None))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks)[:limit].astype(np.float32, copy=False)
