"""The packaged text encoders' speed, ONNX Runtime against torch, in one run and one table.

For each encoder (all-MiniLM-L6-v2, all-mpnet-base-v2) and each runtime: one short customer
message at a time (batch 1, what a lone message costs) and batches of 32 different BANKING77
texts (what a busy worker's batch costs), through ``SentenceEncoder.encode`` as the plugins
call it (length-aware batching included). Also printed: the largest difference between the
two runtimes' vectors. ``--threads`` sets torch's (and so ONNX Runtime's) intra-op threads.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.text_latency import MESSAGES, percentile  # noqa: E402
from fusiondesk.plugins.text.encoder import SentenceEncoder  # noqa: E402
from fusiondesk.plugins.text.packaged import ENCODER_NAMES, packaged_encoder_path  # noqa: E402
from fusiondesk.service.settings import Settings  # noqa: E402

BANKING_TEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "test.csv"
BATCH = 32


def batch_texts(batches: int) -> list[list[str]]:
    with BANKING_TEST.open(encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    return [texts[i * BATCH : (i + 1) * BATCH] for i in range(batches)]


def timed(encoder: SentenceEncoder, calls: list[list[str]]) -> list[float]:
    """Milliseconds per ``encode`` call, after one warm-up call."""
    encoder.encode(calls[0])
    timings = []
    for texts in calls:
        started = time.perf_counter()
        encoder.encode(texts)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", nargs="+", choices=ENCODER_NAMES, default=ENCODER_NAMES)
    parser.add_argument("--rounds", type=int, default=10, help="Passes over the messages.")
    parser.add_argument("--batches", type=int, default=10, help="Batches of 32 timed.")
    parser.add_argument("--threads", type=int, help="Intra-op threads (default: torch's).")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cache_dir = Settings().cache_dir / "models"
    singles = [[text] for text in MESSAGES] * args.rounds
    batches = batch_texts(args.batches)
    header = (
        f"{'encoder':<8} {'runtime':<8} {'b1 p50 ms':>10} {'b1 p95 ms':>10} "
        f"{'b32 p50 ms':>11} {'ms/text b32':>12} {'texts/s b32':>12}"
    )
    print(
        f"{torch.get_num_threads()} threads; batch 1: {len(singles)} messages, "
        f"batch 32: {len(batches)} batches of BANKING77 test texts"
    )
    print(header)
    print("-" * len(header))
    for name in args.encoders:
        path = packaged_encoder_path(name, cache_dir)
        vectors = {}
        for runtime in ("torch", "onnx"):
            encoder = SentenceEncoder(path, onnx=runtime == "onnx")
            one, many = timed(encoder, singles), timed(encoder, batches)
            vectors[runtime] = encoder.encode(batches[0])
            b32 = statistics.median(many)
            print(
                f"{name:<8} {runtime:<8} {statistics.median(one):>10.2f} "
                f"{percentile(one, 0.95):>10.2f} {b32:>11.1f} {b32 / BATCH:>12.2f} "
                f"{1000 * BATCH / b32:>12.0f}"
            )
        drift = float(np.abs(vectors["torch"] - vectors["onnx"]).max())
        print(f"{name:<8} max |torch - onnx| over a batch's vectors: {drift:.1e}")


if __name__ == "__main__":
    main()
