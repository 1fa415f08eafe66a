"""Real API processes (``fusiondesk serve``) for tests that need more than one, a restart, or
the real HTTP server's behaviour (streamed bodies, memory, logs)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from fusiondesk.workers.local import free_port


@dataclass(frozen=True)
class ApiProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


@contextmanager
def running_api(model_dir: Path, log: Path, **env: str) -> Iterator[ApiProcess]:
    """``fusiondesk serve`` on a free port with ``FUSIONDESK_*`` overrides, ready to serve."""
    port = free_port()
    environment = {**os.environ, "FUSIONDESK_PORT": str(port), **env}
    command = [
        sys.executable,
        "-m",
        "fusiondesk.service.cli",
        "serve",
        "--model-dir",
        str(model_dir),
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
    api = ApiProcess(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, f"the API exited at start-up:\n{log.read_text()}"
            try:
                if httpx.get(f"{api.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the API never got ready:\n{log.read_text()}"
            time.sleep(0.2)
        yield api
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
