"""A throwaway local cluster: a ``redis-server`` and ``fusiondesk worker`` processes.

The integration tests and the benchmarks use it; it is also a quick way to try the Celery
executor on one machine. Redis runs on a free loopback port in a directory of its own, with an
append-only file, so that a restart keeps the queue (as a production broker should).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

from fusiondesk.workers.records import read_workers

FUSIONDESK = str(Path(sys.executable).with_name("fusiondesk"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalRedis:
    """``appendfsync`` as in redis.conf. ``everysec`` (Redis's default, and docker/compose.yaml's)
    loses at most a second of writes to a power cut, and nothing to a crash or a restart;
    ``always`` loses nothing at all but costs a disk flush per write (about 3 ms each here, more
    than the whole rest of a message's queue work)."""

    def __init__(self, directory: Path, appendfsync: str = "everysec") -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed (scripts/install-system-packages.sh)")
        self.executable = executable
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10) -> None:
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.executable,
                    "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                    "--save", "", "--appendonly", "yes", "--appendfsync", self.appendfsync,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                # PING, not just a connection: a restarted server answers LOADING until it has
                # replayed its append-only file.
                with redis.Redis(port=self.port, socket_connect_timeout=0.2) as client:
                    client.ping()
                    return
            except (redis.BusyLoadingError, redis.ConnectionError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server did not start; see {self.directory}"
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class LocalWorkers:
    """Named ``fusiondesk worker`` subprocesses sharing one environment."""

    def __init__(self, env: dict[str, str], logs: Path, threads: int = 32) -> None:
        self.env = env
        self.logs = logs
        self.threads = threads
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        """Start worker ``name``, a full Celery node name such as ``gpu-1@host``."""
        if "@" not in name:
            raise ValueError(f"worker name {name!r} needs an '@' (Celery adds 'celery@' otherwise)")
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [FUSIONDESK, "worker", "--queues", "gpu,cpu", "--device", "cpu",
                 "--concurrency", str(self.threads), "--hostname", name],
                env={**self.env, **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def wait_ready(self, names: list[str], timeout_s: float = 300) -> None:
        """Until every named worker has published a record with all its models loaded."""
        deadline = time.monotonic() + timeout_s
        with redis.Redis.from_url(self.env["FUSIONDESK_CELERY__BROKER_URL"]) as client:
            while True:
                ready = {
                    record["hostname"]
                    for record in read_workers(client)
                    if all(model["loaded"] for model in record["models"].values())
                }
                if set(names) <= ready:
                    return
                for name in names:
                    code = self.processes[name].poll()
                    if code is not None:
                        raise RuntimeError(f"worker {name} exited with {code}: {self.log(name)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"workers not ready: {set(names) - ready}")
                time.sleep(0.2)

    def kill(self, name: str) -> None:
        """``kill -9``: no warm shutdown, no acknowledgements."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self, name: str) -> None:
        """Warm shutdown: in-flight batches finish first."""
        process = self.processes.pop(name)
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]


def worker_environment(broker_url: str, **celery: object) -> dict[str, str]:
    """This process's environment plus the Celery settings, as ``FUSIONDESK_CELERY__*``."""
    env = {**os.environ, "FUSIONDESK_CELERY__BROKER_URL": broker_url}
    env.update({f"FUSIONDESK_CELERY__{key.upper()}": str(value) for key, value in celery.items()})
    return env
