"""Chaos: customers keep writing while a worker, Redis and the API fail under them.

A real Redis (append-only file on), two workers and the API (``fusiondesk serve``), all with
the shipped defaults except that the API uses the Redis store and the Celery executor (and its
own ports), and that its per-IP rate limit is off: every simulated customer comes from this one
machine (as in ``bench/load.py``); the per-key limit and everything else stay default.
Clients send text, voice and screenshot messages at a steady rate, half over HTTP and half over
WebSockets, and retry each message with the same message id until it is answered (a WebSocket
client that reconnects first looks for its answer in the history).

Each message has a conversation of its own, made with ``POST /v1/conversations`` so that its
token is known before the first send and carried on every retry, reconnect and history read
(a retry after a lost answer must prove it owns the conversation). One message per
conversation also keeps a handoff (a customer asking for a human, or repeated low-confidence
messages) from holding the other messages: an answer counts as ``held`` only when the server
says so, and is shown apart from the replies.
During the run one worker is ``kill -9``'d mid-batch and started again, Redis is restarted
(its append-only file keeps the queues), and the API is SIGTERM'd and started again while
WebSocket clients are connected.

"Answered twice" is counted from the stored history (a message id with two turns); "lost" is a
message neither answered to its client nor stored within ``--give-up`` seconds.

    python bench/chaos.py [--messages 1000] [--rate 4]
"""

from __future__ import annotations

import argparse
import asyncio
import builtins
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
import redis.asyncio as aioredis
import websockets
from _media import KINDS, Sample, make_samples
from loadgen import demo_settings

from fusiondesk.service.conversations.redis_store import RedisConversationStore
from fusiondesk.workers.inflight import OWNERS_KEY, inflight_key
from fusiondesk.workers.local import LocalRedis, LocalWorkers, free_port, worker_environment

PER_IP_LIMIT_ENV = "FUSIONDESK_RATE_LIMITS__PER_IP_PER_MINUTE"
RETRYABLE_WS_CODES = {
    "no_workers",
    "broker_unavailable",
    "not_ready",
    "store_unavailable",
    "conversation_busy",
    "shutting_down",
}
WORKERS = ("chaos-1@bench", "chaos-2@bench")


@dataclass
class Outcome:
    index: int
    kind: str
    channel: str
    sent_at: float
    answered_at: float | None = None
    held: bool = False
    """The server said the conversation is with a human (``held``) instead of replying."""
    token: str | None = None
    conversation_id: str = ""
    seen: Counter[str] = field(default_factory=Counter)
    """Every answer that was not the reply: HTTP statuses, WebSocket error codes, drops."""

    @property
    def message_id(self) -> str:
        return f"chaos-m{self.index}"


class ApiProcess:
    """``fusiondesk serve`` on a fixed port, so that it can be stopped and started again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 300) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "fusiondesk.service.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=30).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start; see {self.log}")
            time.sleep(0.3)

    def terminate(self) -> float:
        """SIGTERM; seconds until the process exited."""
        assert self.process is not None
        started = time.monotonic()
        self.process.terminate()
        try:
            self.process.wait(120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started


class Chaos:
    def __init__(self, args: argparse.Namespace, directory: Path) -> None:
        self.args = args
        self.redis = LocalRedis(directory)
        self.workers = LocalWorkers(
            worker_environment(self.redis.url), directory, demo_settings().celery.concurrency
        )
        env = {
            **os.environ,
            "FUSIONDESK_EXECUTOR": "celery",
            "FUSIONDESK_STORE": "redis",
            "FUSIONDESK_REDIS_URL": self.redis.url,
            "FUSIONDESK_CELERY__BROKER_URL": self.redis.url,
            "FUSIONDESK_LOG_FORMAT": "text",
            # Every simulated customer shares 127.0.0.1: the per-IP limit would answer 429 to
            # the bench itself, not to a customer.
            PER_IP_LIMIT_ENV: "0",
        }
        self.api = ApiProcess(env, directory / "api.log")
        self.samples = make_samples(6)
        self.faults: list[str] = []
        self.started = 0.0

    def note(self, text: str) -> None:
        self.faults.append(f"{time.monotonic() - self.started:7.1f}s  {text}")
        print(self.faults[-1], flush=True)

    # -- the clients -------------------------------------------------------------------------
    async def open_conversation(self, http: httpx.AsyncClient, outcome: Outcome) -> bool:
        """Make the message's conversation (retrying like a customer); False if never made."""
        while self.deadline(outcome) > 0:
            try:
                response = await http.post(f"{self.api.base}/v1/conversations", timeout=30)
            except httpx.TransportError as error:
                outcome.seen[f"create {type(error).__name__}"] += 1
                await asyncio.sleep(1.0)
                continue
            if response.status_code == 201:
                created = response.json()
                outcome.conversation_id, outcome.token = (
                    created["conversation_id"],
                    created["token"],
                )
                return True
            retry_after = response.headers.get("retry-after")
            outcome.seen[
                f"create {response.status_code}{' +Retry-After' if retry_after else ''} "
                f"{_error_code(response)}"
            ] += 1
            await asyncio.sleep(min(5.0, float(retry_after or 1.0)))
        return False

    async def send_http(self, http: httpx.AsyncClient, outcome: Outcome, sample: Sample) -> None:
        body = {
            "conversation_id": outcome.conversation_id,
            "message_id": outcome.message_id,
            "parts": [sample.as_json()],
        }
        while (remaining := self.deadline(outcome)) > 0:
            try:
                response = await http.post(
                    f"{self.api.base}/v1/messages",
                    json=body,
                    headers={"Authorization": f"Bearer {outcome.token}"},
                    timeout=remaining,
                )
            except httpx.TransportError as error:
                outcome.seen[f"http {type(error).__name__}"] += 1
                await asyncio.sleep(1.0)
                continue
            if response.status_code == 200:
                outcome.answered_at = time.monotonic()
                outcome.held = response.json().get("answered_by") == "held"
                return
            retry_after = response.headers.get("retry-after")
            code = _error_code(response)
            outcome.seen[
                f"{response.status_code}{' +Retry-After' if retry_after else ''} {code}"
            ] += 1
            if response.status_code < 500 and response.status_code != 429:
                return  # the message itself was refused: retrying would not help
            await asyncio.sleep(min(5.0, float(retry_after or 1.0)))

    async def send_ws(self, outcome: Outcome, sample: Sample) -> None:
        url = (
            f"ws://127.0.0.1:{self.api.port}/v1/conversations/{outcome.conversation_id}/ws"
            f"?token={outcome.token}"
        )
        frame = json.dumps(
            {"type": "message", "message_id": outcome.message_id, "parts": [sample.as_json()]}
        )
        while (remaining := self.deadline(outcome)) > 0:
            try:
                async with asyncio.timeout(remaining):
                    async with websockets.connect(url, max_size=None, open_timeout=10) as socket:
                        if await self._ws_exchange(socket, frame, outcome):
                            return
            except (OSError, TimeoutError, websockets.WebSocketException) as error:
                outcome.seen[f"ws {type(error).__name__}"] += 1
            await asyncio.sleep(1.0)

    async def _ws_exchange(
        self, socket: websockets.ClientConnection, frame: str, outcome: Outcome
    ) -> bool:
        """True once answered (or refused for good); False to reconnect and send again."""
        history = json.loads(await socket.recv())
        if any(turn.get("message_id") == outcome.message_id for turn in history["turns"]):
            outcome.answered_at = time.monotonic()  # answered while we were away
            return True
        await socket.send(frame)
        while True:
            event = json.loads(await socket.recv())
            if event.get("message_id") != outcome.message_id:
                continue
            if event["event"] == "reply" and not event.get("chunk"):
                outcome.answered_at = time.monotonic()
                return True
            if event["event"] == "held":
                outcome.answered_at, outcome.held = time.monotonic(), True
                return True
            if event["event"] == "error":
                outcome.seen[f"ws error {event['code']}"] += 1
                return event["code"] not in RETRYABLE_WS_CODES and event["code"] != "internal_error"

    async def customer(self, http: httpx.AsyncClient, outcome: Outcome, sample: Sample) -> None:
        if not await self.open_conversation(http, outcome):
            return
        if outcome.channel == "http":
            await self.send_http(http, outcome, sample)
        else:
            await self.send_ws(outcome, sample)

    def deadline(self, outcome: Outcome) -> float:
        return outcome.sent_at + self.args.give_up - time.monotonic()

    # -- the faults --------------------------------------------------------------------------
    async def kill_a_busy_worker(self) -> None:
        client = redis.Redis.from_url(self.redis.url)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                for member in client.smembers(OWNERS_KEY):
                    owner = member.decode()
                    hostname = owner.split("/")[0]
                    held = client.scard(inflight_key(owner))
                    if hostname in self.workers.processes and held:
                        self.workers.kill(hostname)
                        self.note(f"kill -9 {hostname} holding {held} task(s); restarted")
                        self.workers.start(hostname)
                        key = inflight_key(owner)
                        returned = await self._until(lambda key=key: not client.scard(key))
                        self.note(f"  its tasks back in the queue after {returned:.1f}s")
                        return
                await asyncio.sleep(0.05)
            self.note("no worker held a task for 30 s: nothing killed")
        finally:
            client.close()

    async def restart_redis(self) -> None:
        self.redis.stop()
        self.note("Redis stopped")
        await asyncio.to_thread(self.redis.start)
        self.note("Redis started again (append-only file replayed)")

    async def restart_api(self) -> None:
        took = await asyncio.to_thread(self.api.terminate)
        self.note(f"API SIGTERM'd: exited after {took:.1f}s")
        started = time.monotonic()
        try:
            await asyncio.to_thread(self.api.start)
            self.note(f"API started again, ready after {time.monotonic() - started:.1f}s")
        except RuntimeError as error:  # still serving, perhaps: the clients keep trying
            self.note(f"API not ready after {time.monotonic() - started:.0f}s: {error}")

    async def _until(self, condition: object, timeout_s: float = 120) -> float:
        started = time.monotonic()
        while not condition() and time.monotonic() - started < timeout_s:  # type: ignore[operator]
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    # -- the run -----------------------------------------------------------------------------
    async def run(self) -> list[Outcome]:
        count, rate = self.args.messages, self.args.rate
        self.started = time.monotonic()
        faults = {
            int(count * 0.2): self.kill_a_busy_worker,
            int(count * 0.45): self.restart_redis,
            int(count * 0.7): self.restart_api,
        }
        outcomes: list[Outcome] = []
        tasks: list[asyncio.Task[None]] = []
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        async with httpx.AsyncClient(limits=limits) as http:
            for index in range(count):
                await asyncio.sleep(max(0.0, self.started + index / rate - time.monotonic()))
                if index in faults:
                    tasks.append(asyncio.create_task(faults[index]()))
                kind = KINDS[index % len(KINDS)]
                kind = kind if kind in self.samples else "text"
                sample = self.samples[kind][index % len(self.samples[kind])]
                channel = "http" if index % 2 == 0 else "ws"
                outcome = Outcome(index, kind, channel, time.monotonic())
                outcomes.append(outcome)
                tasks.append(asyncio.create_task(self.customer(http, outcome, sample)))
            await asyncio.gather(*tasks)
        return outcomes

    async def stored_counts(self, outcomes: list[Outcome]) -> Counter[str]:
        client = aioredis.Redis.from_url(self.redis.url)
        store = RedisConversationStore(client)
        try:
            stored: Counter[str] = Counter()
            for conversation in sorted({o.conversation_id for o in outcomes if o.token}):
                stored.update(turn.message_id for turn in await store.turns(conversation))
            return stored
        finally:
            await client.aclose()


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "-"


def report(chaos: Chaos, outcomes: list[Outcome], stored: Counter[str], seconds: float) -> None:
    print = functools.partial(builtins.print, flush=True)  # noqa: A001  (the run may be killed)
    answered = [o for o in outcomes if o.answered_at is not None]
    lost = [o for o in outcomes if o.answered_at is None and not stored[o.message_id]]
    unanswered_but_stored = [o for o in outcomes if o.answered_at is None and stored[o.message_id]]
    twice = [o for o in outcomes if stored[o.message_id] > 1]
    held = sum(o.held for o in answered)
    seen: Counter[str] = Counter()
    for outcome in outcomes:
        seen.update(outcome.seen)
    with_retry_after = sum(n for what, n in seen.items() if what.startswith("503 +Retry-After"))
    server_errors = sum(
        n for what, n in seen.items() if what.startswith("500") or what.endswith("internal_error")
    )
    waits = sorted(o.answered_at - o.sent_at for o in answered if o.answered_at is not None)

    def pct(q: float) -> str:
        return f"{waits[min(len(waits) - 1, int(q * len(waits)))]:.1f}" if waits else "-"

    kinds = Counter(o.kind for o in outcomes)
    print()
    print(
        f"fusiondesk bench/chaos.py — {os.cpu_count()} CPU cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end; 2 workers, Redis store, defaults "
        f"(per-IP rate limit off: {PER_IP_LIMIT_ENV}=0); "
        f"{len(outcomes)} messages at {chaos.args.rate:g}/s in {seconds:.0f}s"
    )
    print("faults:")
    for line in chaos.faults:
        print(f"  {line}")
    rows = [
        ("sent", f"{len(outcomes)}  ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})"),
        ("answered", f"{len(answered)}  (of which held for a human: {held})"),
        ("answered twice (history)", str(len(twice))),
        ("lost", str(len(lost))),
        ("stored, never answered to its client", str(len(unanswered_but_stored))),
        ("503s with Retry-After", str(with_retry_after)),
        ("500s (HTTP 500, WebSocket internal_error)", str(server_errors)),
        ("latency p50 / p95 / p99 (s)", f"{pct(0.5)} / {pct(0.95)} / {pct(0.99)}"),
        ("longest wait (s)", f"{waits[-1]:.1f}" if waits else "-"),
        ("median wait (s)", f"{statistics.median(waits):.1f}" if waits else "-"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for outcome in twice:  # each one is a product bug: say where to look
        print(
            f"answered twice: {outcome.message_id} ({outcome.channel}, {outcome.kind}) in "
            f"{outcome.conversation_id}, seen {dict(outcome.seen)}"
        )
    print("every answer that was not the reply, by kind:")
    for what, n in sorted(seen.items(), key=lambda item: -item[1]):
        print(f"  {n:>6}  {what}")
    print_waits_by_minute(chaos.started, answered, print)


def print_waits_by_minute(
    started: float, answered: list[Outcome], print: Callable[[str], None]
) -> None:
    """Which minute's messages waited: a long wait lines up with the fault that caused it."""
    by_minute: dict[int, list[float]] = {}
    for outcome in answered:
        assert outcome.answered_at is not None
        minute = int((outcome.sent_at - started) // 60)
        by_minute.setdefault(minute, []).append(outcome.answered_at - outcome.sent_at)
    print("waits by the minute a message was sent:")
    print(f"  {'sent at':>10}  {'answered':>8}  {'p50 s':>7}  {'max s':>7}")
    for minute, waits in sorted(by_minute.items()):
        span = f"{minute * 60}-{minute * 60 + 60}s"
        print(
            f"  {span:>10}  {len(waits):>8}  {statistics.median(waits):>7.1f}  {max(waits):>7.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=4.0, help="messages per second")
    parser.add_argument("--give-up", type=float, default=300.0, help="seconds per message")
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep the run's directory (api.log, worker and Redis logs) to look into a 500",
    )
    args = parser.parse_args()
    demo_settings()  # the API serves the demo model: trained once, before the clock starts
    directory = Path(tempfile.mkdtemp(prefix="fusiondesk-chaos-"))
    try:
        chaos = Chaos(args, directory)
        chaos.redis.start()
        try:
            for worker in WORKERS:
                chaos.workers.start(worker)
            chaos.workers.wait_ready(list(WORKERS))
            chaos.api.start()
            started = time.monotonic()
            outcomes = asyncio.run(chaos.run())
            seconds = time.monotonic() - started
            stored = asyncio.run(chaos.stored_counts(outcomes))
            report(chaos, outcomes, stored, seconds)
        finally:
            if chaos.api.process is not None and chaos.api.process.poll() is None:
                chaos.api.terminate()
            chaos.workers.stop_all()
            chaos.redis.stop()
    finally:
        if args.keep_logs:
            print(f"logs kept in {directory}", flush=True)
        else:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
