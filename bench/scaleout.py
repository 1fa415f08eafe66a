"""Scale-out: text-message throughput with 1 and then 2 worker processes on one Redis.

The same closed-loop load (concurrency 64) is sent with one worker, then with a second one
added. On this CPU-only machine both workers share its cores, so the figure shows the queue's
own overhead and fairness rather than added compute; on a GPU host run one worker per GPU.
"""

from __future__ import annotations

import asyncio
import os

from loadgen import LoadResult, banking77_texts, closed_loop, demo_settings, local_cluster

from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import Settings

CONCURRENCY = 64
MESSAGES = 384


async def measure(settings: Settings, texts: list[str]) -> LoadResult:
    runtime = Runtime.from_settings(settings)
    await runtime.start()
    try:
        await closed_loop(runtime, texts, 8, 32)  # warm
        return await closed_loop(runtime, texts, CONCURRENCY, MESSAGES)
    finally:
        await runtime.close()


def main() -> None:
    base = demo_settings()
    texts = banking77_texts()
    results = {}
    with local_cluster(threads=64) as cluster:
        for count in (1, 2):
            name = f"scale-{count}@local"
            cluster.workers.start(name)
            cluster.workers.wait_ready([name])
            results[count] = asyncio.run(measure(cluster.settings(base), texts))
    print(f"fusiondesk bench/scaleout.py — {os.cpu_count()} CPU cores, no GPU")
    print(f"{'workers':>7} {'conc':>5} {'msgs':>6} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for count, result in results.items():
        print(
            f"{count:>7} {CONCURRENCY:>5} {result.messages:>6} {result.per_second:>8.1f} "
            f"{result.p50_ms:>8.1f} {result.percentile_ms(0.95):>8.1f}"
        )
    print(f"speed-up 2 / 1 workers: {results[2].per_second / results[1].per_second:.2f}x")


if __name__ == "__main__":
    main()
