"""``fusiondesk batch`` on 10,000 BANKING77-derived rows through two workers.

Builds the backlog (BANKING77 train texts with ids), starts a local redis-server and two
workers, runs the command once, and checks that every row was answered exactly once, in order.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from loadgen import banking77_texts, demo_settings, local_cluster

from fusiondesk.workers.local import FUSIONDESK

ROWS = 10_000


def main() -> None:
    settings = demo_settings()
    texts = banking77_texts("train")
    with tempfile.TemporaryDirectory(prefix="fusiondesk-backlog-") as directory:
        source, out = Path(directory) / "backlog.jsonl", Path(directory) / "out.jsonl"
        with source.open("w", encoding="utf-8") as sink:
            for row in range(ROWS):
                sink.write(json.dumps({"id": f"t{row}", "text": texts[row % len(texts)]}) + "\n")
        with local_cluster(threads=64) as cluster:
            for name in ("backlog-1@local", "backlog-2@local"):
                cluster.workers.start(name)
            cluster.workers.wait_ready(["backlog-1@local", "backlog-2@local"])
            started = time.perf_counter()
            finished = subprocess.run(
                [FUSIONDESK, "batch", str(source), "--out", str(out), "--no-progress"],
                env={
                    **cluster.workers.env,
                    "FUSIONDESK_MODEL_DIR": str(settings.resolved_model_dir),
                },
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.perf_counter() - started
        results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    rows_in_order = [result["row"] for result in results] == list(range(ROWS))
    ids_once = [result["id"] for result in results] == [f"t{row}" for row in range(ROWS)]
    errors = sum("error" in result for result in results)
    print("fusiondesk bench/backlog.py — fusiondesk batch, 2 workers, CPU")
    print(f"rows                 {ROWS}")
    print(f"output lines         {len(results)}")
    print(f"in order, each once  {rows_in_order and ids_once}")
    print(f"row errors           {errors}")
    print(f"wall time            {seconds:.1f} s ({ROWS / seconds:.1f} rows/s)")
    print(f"command said         {finished.stdout.strip()}")


if __name__ == "__main__":
    main()
