"""Starts `fusiondesk serve` on a free port for a benchmark and stops it afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from fusiondesk.workers.local import free_port


@contextmanager
def running_server(env: dict[str, str] | None = None, timeout_s: float = 300) -> Iterator[str]:
    """Yields the base URL of a ready server (trains the demo model first if needed)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fusiondesk.service.cli", "serve", "--port", str(port)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not become ready")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
