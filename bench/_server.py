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
    with server_process(env, timeout_s) as (base, _):
        yield base


@contextmanager
def server_process(
    env: dict[str, str] | None = None,
    timeout_s: float = 300,
    *,
    ready_statuses: tuple[int, ...] = (200,),
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The base URL and process of a server whose /readyz answers one of ``ready_statuses``
    (503 too: an API whose executor has no worker on purpose)."""
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
                ready = httpx.get(f"{base}/readyz")
                if ready.status_code in ready_statuses and not _loading(ready):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not become ready")
            time.sleep(0.3)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)


def _loading(ready: httpx.Response) -> bool:
    """The models are still loading (rather than, say, no worker being up)."""
    return ready.status_code == 503 and ready.json()["error"]["code"] == "not_ready"
