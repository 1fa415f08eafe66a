"""Real-time factor of the voice plugin end to end vs faster-whisper's raw transcribe.

Clips: customer requests spoken by espeak-ng (WAV), 2 to 20 s. For each clip, in alternating
order:

* plugin: ``preprocess`` + ``embed`` = header checks, decode, VAD, transcribe, acoustic pooling,
  transcript embedding;
* raw: a plain ``faster_whisper.WhisperModel`` (same model files, compute type, threads and
  decoding options, ``vad_filter=True``) transcribing the same WAV bytes;
* raw (pre-decoded): the same, given already-decoded 16 kHz samples (no decoding at all).

RTF = processing seconds / audio seconds. Targets: plugin/raw <= 1.15; raw RTF <= 0.2 (tiny.en,
2 CPU cores).

    python bench/voice.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from faster_whisper import WhisperModel  # noqa: E402

from fusiondesk.plugins import Part  # noqa: E402
from fusiondesk.plugins.voice import VoicePlugin  # noqa: E402
from fusiondesk.plugins.voice.decoding import decode_pcm  # noqa: E402
from fusiondesk.plugins.voice.formats import WAV  # noqa: E402
from fusiondesk.plugins.voice.models import model_folder  # noqa: E402
from fusiondesk.plugins.voice.transcriber import DecodingOptions, fit_hotwords  # noqa: E402
from fusiondesk.service.settings import Settings  # noqa: E402
from fusiondesk.service.synth.voice import VOICES, Delivery, espeak_available, speak  # noqa: E402
from fusiondesk.service.understanding.wiring import build_model_registry  # noqa: E402

REQUESTS = [
    "I want to cancel my card.",
    "Where is my parcel? It was supposed to arrive on Monday.",
    "My card payment was declined at the supermarket this morning, what happened?",
    "How do I change my PIN?",
    "I think someone has been using my card without my permission. There are three "
    "payments on my statement that I did not make, and I would like my money back please.",
    "Can I top up my account by bank transfer, and how long does that usually take to "
    "show up in my balance? I tried yesterday and nothing has arrived yet, which is strange "
    "because the money has already left my other account.",
]
TARGET_RATIO = 1.15
TARGET_RAW_RTF = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="Passes over the clips.")
    args = parser.parse_args()
    if not espeak_available():
        sys.exit("needs espeak-ng")
    settings = Settings()
    # As served: told the served model's domain words (the demo's after `make run`).
    plugin = build_model_registry(settings, settings.resolved_model_dir).get("voice")
    assert isinstance(plugin, VoicePlugin)
    config = plugin.config
    clips = [
        speak(text, Delivery(voice=VOICES[i % len(VOICES)], speed=150))
        for i, text in enumerate(REQUESTS)
    ]
    plugin.load()
    compute_type = "int8"
    raw_model = WhisperModel(
        str(model_folder(config.model, config.model_path, config.cache_dir)),
        device="cpu",
        compute_type=compute_type,
        cpu_threads=config.cpu_threads,
    )
    options = fit_hotwords(
        DecodingOptions(
            beam_size=config.beam_size,
            language=config.language,
            max_new_tokens=config.max_new_tokens,
            hotwords=plugin.hint,
        ),
        raw_model.hf_tokenizer,
    ).transcribe_kwargs()

    def plugin_run(clip: bytes) -> None:
        plugin.embed([plugin.preprocess(Part("audio", data=clip))])

    def raw_run(clip: bytes) -> None:
        segments, _ = raw_model.transcribe(io.BytesIO(clip), vad_filter=True, **options)
        list(segments)

    def raw_decoded_run(samples: object) -> None:
        segments, _ = raw_model.transcribe(samples, vad_filter=True, **options)
        list(segments)

    decoded = [decode_pcm(clip, WAV, max_duration_s=600) for clip in clips]
    audio_s = sum(len(samples) for samples in decoded) / 16_000
    for clip, samples in zip(clips, decoded, strict=True):  # warm-up: first-call costs
        plugin_run(clip)
        raw_run(clip)
        raw_decoded_run(samples)
    totals = {"plugin": 0.0, "raw": 0.0, "raw_decoded": 0.0}
    for round_index in range(args.rounds):
        for i, (clip, samples) in enumerate(zip(clips, decoded, strict=True)):
            runs: list[tuple[str, Callable[[Any], None], object]] = [
                ("plugin", plugin_run, clip),
                ("raw", raw_run, clip),
                ("raw_decoded", raw_decoded_run, samples),
            ]
            if (round_index + i) % 2:  # alternate the order against drifting machine load
                runs.reverse()
            for name, run, argument in runs:
                started = time.perf_counter()
                run(argument)
                totals[name] += time.perf_counter() - started
    seconds = audio_s * args.rounds
    rtf = {name: total / seconds for name, total in totals.items()}
    ratio = totals["plugin"] / totals["raw"]
    print(
        f"voice plugin vs faster-whisper: Whisper {config.model}, {compute_type}, beam "
        f"{config.beam_size}, {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}"
    )
    hotwords = options["hotwords"]
    print(f"hotwords: {len(hotwords.split()) if hotwords else 0} words (both paths)")
    print(f"{len(clips)} espeak-ng clips, {audio_s:.1f} s of audio, {args.rounds} rounds")
    print()
    print(f"{'path':<44}{'seconds':>9}{'RTF':>8}{'target':>10}")
    print(
        f"{'plugin end to end (decode+VAD+ASR+embed)':<44}{totals['plugin']:>9.2f}"
        f"{rtf['plugin']:>8.3f}{'':>10}"
    )
    print(
        f"{'faster-whisper transcribe (WAV bytes)':<44}{totals['raw']:>9.2f}"
        f"{rtf['raw']:>8.3f}{f'<= {TARGET_RAW_RTF}':>10}"
    )
    print(
        f"{'faster-whisper transcribe (decoded samples)':<44}{totals['raw_decoded']:>9.2f}"
        f"{rtf['raw_decoded']:>8.3f}{'':>10}"
    )
    print(f"{'ratio plugin / raw':<44}{'':>9}{ratio:>8.3f}{f'<= {TARGET_RATIO}':>10}")
    print(
        f"{'ratio plugin / raw (decoded samples)':<44}{'':>9}"
        f"{totals['plugin'] / totals['raw_decoded']:>8.3f}{'':>10}"
    )
    print(
        f"result: ratio {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}, "
        f"raw RTF {'PASS' if rtf['raw'] <= TARGET_RAW_RTF else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
