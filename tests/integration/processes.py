"""Real server processes for integration tests: any command, and a `fusiondesk serve` run."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from fusiondesk.workers.local import free_port

FUSIONDESK = [sys.executable, "-m", "fusiondesk.service.cli"]


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """Start a process; on the way out stop it and close its output."""
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def served(env: dict[str, str], *args: str, timeout_s: float = 180) -> Iterator[str]:
    """`fusiondesk serve ARGS` on a free port; yields its base URL once /readyz says ready."""
    port = free_port()
    with running([*FUSIONDESK, "serve", "--port", str(port), *args], env) as server:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout_s
        while True:
            if server.poll() is not None:
                output = server.stdout.read() if server.stdout else ""
                raise AssertionError(f"fusiondesk serve exited:\n{output}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base_url}/readyz").status_code == 200:
                    break
            assert time.monotonic() < deadline, f"not ready after {timeout_s}s"
            time.sleep(0.3)
        yield base_url
