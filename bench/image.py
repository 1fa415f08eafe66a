"""Image plugin throughput and API latency.

Prints images/s of the visual slot alone, of OCR alone and of the whole plugin at batch 1 and
16, beside the raw EfficientNet-Lite0 forward on the same batch (target: the plugin's visual
path at >= 0.8x raw), and the p50 end-to-end latency of an image message through the API.
Inputs are screenshots rendered by ``fusiondesk synth screenshot``'s renderer.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from fastapi.testclient import TestClient

from fusiondesk.plugins import Part, Payload
from fusiondesk.plugins.image import ImageConfig, ImagePlugin
from fusiondesk.service.api import create_app
from fusiondesk.service.demo.model import ensure_demo_model
from fusiondesk.service.settings import Settings
from fusiondesk.service.synth.screenshot import Screenshot, ScreenshotRenderer
from fusiondesk.service.understanding.wiring import build_registry

BATCH_SIZES = (1, 16)
API_REQUESTS = 20
TEXTS = [
    "Error 504: payment failed",
    "my card was declined at checkout",
    "where is my parcel, it is three days late",
    "the box arrived crushed and the mug inside is broken",
    "I want to cancel my order",
    "how do I return these shoes",
    "I was charged twice for one order",
    "can I talk to a human please",
]


def images_per_second(work: Callable[[], object], images: int, *, repeats: int) -> float:
    """Best of ``repeats`` timed calls after a warm-up: the figure least hurt by other load."""
    work()  # warm-up: first calls allocate and pick kernels
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return images / best


def paired_rates(
    first: Callable[[], object], second: Callable[[], object], images: int, *, repeats: int
) -> tuple[float, float]:
    """Median images/s of two workloads timed alternately, so both see the same load."""
    first(), second()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for work, spent in zip((first, second), times, strict=True):
            started = time.perf_counter()
            work()
            spent.append(time.perf_counter() - started)
    return images / statistics.median(times[0]), images / statistics.median(times[1])


def main() -> None:
    renderer = ScreenshotRenderer(seed=7)
    shots = [renderer.render(TEXTS[i % len(TEXTS)]) for i in range(max(BATCH_SIZES))]
    full = ImagePlugin()
    visual_only = ImagePlugin(ImageConfig(ocr_enabled=False))
    full.load()
    visual_only.load()
    payloads = [full.preprocess(Part("image", data=shot.data)) for shot in shots]
    visual_payloads = [visual_only.preprocess(Part("image", data=s.data)) for s in shots]
    preprocess_rate = images_per_second(
        lambda: [full.preprocess(Part("image", data=shot.data)) for shot in shots],
        len(shots),
        repeats=2,
    )
    network = visual_only.visual.network

    print(f"torch threads: {torch.get_num_threads()}; images: rendered screenshots")
    print(f"preprocess (API process, decode + crop + OCR page): {preprocess_rate:8.1f} images/s")
    print()
    print(
        f"{'batch':>5} | {'raw forward':>11} | {'visual slot':>11} | {'ratio':>5} | "
        f"{'OCR alone':>9} | {'whole plugin':>12}   (images/s)"
    )
    for size in BATCH_SIZES:
        batch: list[Payload] = payloads[:size]
        visual_batch = visual_payloads[:size]
        pixels = visual_only.visual.pixels([payload["crop"] for payload in visual_batch])

        def raw_forward(pixels: torch.Tensor = pixels) -> object:
            with torch.inference_mode():
                return network(pixels)

        raw, visual = paired_rates(
            raw_forward,
            lambda b=visual_batch: visual_only.embed(b),
            size,
            repeats=30 if size == 1 else 6,
        )
        ocr = images_per_second(
            lambda b=batch: full.ocr.read([p["page"] for p in b]), size, repeats=1
        )
        whole = images_per_second(lambda b=batch: full.embed(b), size, repeats=1)
        print(
            f"{size:>5} | {raw:>11.1f} | {visual:>11.1f} | {visual / raw:>5.2f} | "
            f"{ocr:>9.2f} | {whole:>12.2f}"
        )
    print("raw forward and visual slot: medians of alternating runs; OCR and plugin: best of one")
    print("target: visual slot >= 0.8x raw forward")
    print()
    print(f"p50 end-to-end latency of an image message through the API: {api_p50(shots):.0f} ms")


def api_p50(shots: list[Screenshot]) -> float:
    with tempfile.TemporaryDirectory() as home:
        # Starlette's test client sends `Host: testserver`.
        settings = Settings(home=Path(home), allowed_hosts=["testserver"])
        ensure_demo_model(
            settings.resolved_model_dir,
            build_registry(settings),
            Settings().cache_dir,  # the user's embedding cache: the demo data is embedded once
            progress=False,
        )
        with TestClient(create_app(settings)) as client:
            while client.get("/readyz").status_code != 200:
                time.sleep(0.1)
            latencies = []
            for number in range(API_REQUESTS + 1):
                shot = shots[number % len(shots)]
                started = time.perf_counter()
                response = client.post(
                    "/v1/messages",
                    data={"conversation_id": f"bench{number}"},
                    files={"image": (f"shot.{shot.extension}", shot.data)},
                )
                response.raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
    return statistics.median(latencies[1:])  # the first request warms the batchers


if __name__ == "__main__":
    main()
