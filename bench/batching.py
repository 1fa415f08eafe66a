"""Dynamic batching on a Celery worker: served throughput and latency, batching off and on.

One run, one machine: a local redis-server and one ``fusiondesk worker`` (threads pool),
started with batching off (max_batch_size 1) and then on (the plugin's own settings); the same
closed-loop text load at concurrency 1, 8, 32, 128 each time. Printed beside it: the raw
encoder's batch-32 / batch-1 speed-up measured in this run, and the per-message overhead of the
Celery executor against the inline one at concurrency 1.

"Batching" is the worker's dynamic batcher; in both modes the API packs parts that arrive
together into shared tasks (``fusiondesk.workers.grouping``), as it does in production. Redis keeps
an append-only file flushed every second, as docker/compose.yaml runs it; ``--appendfsync always``
measures the flush-per-write setting instead.

Targets: served gain at 32 >= 0.8 x raw gain with p95 no worse than off; overhead <= 5 ms p50.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from loadgen import LoadResult, banking77_texts, closed_loop, demo_settings, local_cluster

from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.wiring import build_registry

LEVELS = {1: 200, 8: 192, 32: 384, 128: 768}
"""Concurrency -> messages sent at that level."""


def raw_gain(settings: Settings, texts: list[str], batches: int = 20) -> tuple[float, float, float]:
    """The text encoder alone, on the texts the load sends: seconds per 32 texts one by one and
    as one batch, over ``batches`` different batches (a batch pads to its longest text, so one
    batch timed over and over would flatter batching)."""
    plugin = build_registry(settings).get("text")
    plugin.load()
    payloads = [{"text": text} for text in texts[: 32 * batches]]
    plugin.embed(payloads[:32])  # warm
    started = time.perf_counter()
    for payload in payloads:
        plugin.embed([payload])
    single = (time.perf_counter() - started) / batches
    started = time.perf_counter()
    for start in range(0, len(payloads), 32):
        plugin.embed(payloads[start : start + 32])
    batch = (time.perf_counter() - started) / batches
    return single, batch, single / batch


async def run_levels(settings: Settings, texts: list[str]) -> dict[int, LoadResult]:
    runtime = Runtime.from_settings(settings)
    await runtime.start()
    try:
        await closed_loop(runtime, texts, 8, 32)  # warm the path
        return {c: await closed_loop(runtime, texts, c, n) for c, n in LEVELS.items()}
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appendfsync", choices=["everysec", "always"], default="everysec")
    args = parser.parse_args()
    base = demo_settings()
    texts = banking77_texts()
    single_s, batch_s, gain = raw_gain(base, texts)
    inline = asyncio.run(run_levels(base.model_copy(update={"executor": "inline"}), texts[:200]))
    results: dict[str, dict[int, LoadResult]] = {}
    with local_cluster(threads=128, appendfsync=args.appendfsync) as cluster:
        for mode, extra in (
            ("off", {"FUSIONDESK_CELERY__BATCHING__TEXT__MAX_BATCH_SIZE": "1"}),
            ("on", {}),
        ):
            cluster.workers.start(f"bench-{mode}@local", extra)
            cluster.workers.wait_ready([f"bench-{mode}@local"])
            results[mode] = asyncio.run(run_levels(cluster.settings(base), texts))
            cluster.workers.stop(f"bench-{mode}@local")

    print("fusiondesk bench/batching.py — text messages through one Celery worker (CPU)")
    print(
        f"redis appendfsync {args.appendfsync}; API groups up to "
        f"{base.celery.group_max_parts} parts per task in both modes"
    )
    print(f"{'batching':<9} {'conc':>5} {'msgs':>6} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for mode, levels in results.items():
        for concurrency, result in levels.items():
            print(
                f"{mode:<9} {concurrency:>5} {result.messages:>6} {result.per_second:>8.1f} "
                f"{result.p50_ms:>8.1f} {result.percentile_ms(0.95):>8.1f}"
            )
    for concurrency, result in inline.items():
        print(
            f"{'inline':<9} {concurrency:>5} {result.messages:>6} {result.per_second:>8.1f} "
            f"{result.p50_ms:>8.1f} {result.percentile_ms(0.95):>8.1f}"
        )
    served = results["on"][32].per_second / results["off"][32].per_second
    print()
    print(
        f"raw encoder: 32 x batch-1 {1000 * single_s:.1f} ms, batch-32 {1000 * batch_s:.1f} ms "
        "(mean of 20 different batches of the texts sent)"
    )
    print(f"raw gain (batch-32 / batch-1 throughput)        {gain:.2f}x")
    print(f"served gain at concurrency 32 (on / off)        {served:.2f}x")
    print(f"served / raw                                    {served / gain:.2f} (target >= 0.80)")
    p95_on, p95_off = results["on"][32].percentile_ms(0.95), results["off"][32].percentile_ms(0.95)
    print(f"p95 at 32: on {p95_on:.1f} ms vs off {p95_off:.1f} ms (target: on <= off)")
    overhead = results["on"][1].p50_ms - inline[1].p50_ms
    print(f"celery - inline p50 at concurrency 1            {overhead:+.1f} ms (target <= 5 ms)")


if __name__ == "__main__":
    main()
