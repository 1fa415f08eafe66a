"""Chat load: many WebSocket clients, each holding a multi-turn text conversation.

Starts the embedded server (``fusiondesk serve``: inline executor, in-memory store; the demo
model is trained on first use), measures one client alone, then ``--clients`` clients at once,
each sending ``--turns`` messages and waiting for each reply, with a customer's think time
between turns. Prints messages/s, reply latency percentiles, errors, lost and out-of-order
replies, and checks p95 against 10x the single-client p50.

    python bench/load.py [--clients 200] [--turns 20] [--think-ms 1000] [--url http://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import running_server  # noqa: E402

TEXTS = [
    "where is my parcel",
    "I want a refund for my order",
    "my card payment keeps failing",
    "can I cancel the order I placed yesterday",
    "the item arrived broken",
    "how do I change my delivery address",
    "do you ship abroad",
    "I forgot my password",
]
REPLY_TIMEOUT_S = 60.0


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    lost: int = 0
    out_of_order: int = 0
    sent: int = 0


async def hold_conversation(
    http: httpx.AsyncClient, client: int, turns: int, think_ms: float, results: Results
) -> None:
    rng = random.Random(client)
    created = (await http.post("/v1/conversations")).json()
    ws_url = str(http.base_url).rstrip("/").replace("http", "ws", 1)
    url = f"{ws_url}/v1/conversations/{created['conversation_id']}/ws?token={created['token']}"
    async with connect(url, max_size=None, open_timeout=60) as socket_:
        history = json.loads(await socket_.recv())
        assert history["event"] == "history", history
        for turn in range(turns):
            message_id = f"c{client}-t{turn}"
            frame = {
                "type": "message",
                "message_id": message_id,
                "parts": [{"type": "text", "text": TEXTS[(client + turn) % len(TEXTS)]}],
            }
            started = time.perf_counter()
            await socket_.send(json.dumps(frame))
            results.sent += 1
            try:
                reply = await asyncio.wait_for(_reply(socket_), REPLY_TIMEOUT_S)
            except TimeoutError:
                results.lost += 1
                continue
            if reply["event"] == "error":
                results.errors += 1
            elif reply["message_id"] != message_id:
                results.out_of_order += 1
            else:
                results.latencies_ms.append((time.perf_counter() - started) * 1000)
            if think_ms:
                await asyncio.sleep(think_ms * rng.uniform(0.5, 1.5) / 1000)


async def _reply(socket_: ClientConnection) -> dict[str, object]:
    while True:
        event: dict[str, object] = json.loads(await socket_.recv())
        if event["event"] == "error" or (event["event"] == "reply" and not event["chunk"]):
            return event


async def run_clients(
    base_url: str, clients: int, turns: int, think_ms: float, ramp_s: float
) -> tuple[Results, float]:
    results = Results()
    # One HTTP client for all customers: a client each would spend the load generator's CPU
    # (an SSL context apiece) on the cores the server under test is measured on.
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:

        async def staggered(client: int) -> None:
            await asyncio.sleep(ramp_s * client / max(clients, 1))
            try:
                await hold_conversation(http, client, turns, think_ms, results)
            except Exception as error:  # a client that fails outright counts its unsent turns
                print(f"client {client} failed: {error!r}", file=sys.stderr)
                results.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(staggered(client) for client in range(clients)))
        return results, time.perf_counter() - started


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return float("nan"), float("nan"), float("nan")
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--think-ms", type=float, default=1000.0, help="mean pause between turns")
    parser.add_argument("--ramp-s", type=float, default=2.0, help="spread of client starts")
    parser.add_argument("--url", help="an already running server instead of a new embedded one")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        # One machine plays 200 customers: no per-IP rate limit on the server under test.
        server = running_server({"FUSIONDESK_RATE_LIMITS__PER_IP_PER_MINUTE": "0"}, timeout_s=600)
        url = args.url or stack.enter_context(server)
        asyncio.run(run_clients(url, 1, 5, 0, 0))  # warm-up: first batches, lazy paths
        single, _ = asyncio.run(run_clients(url, 1, args.turns, 0, 0))
        loaded, seconds = asyncio.run(
            run_clients(url, args.clients, args.turns, args.think_ms, args.ramp_s)
        )

    single_p50, single_p95, single_p99 = _percentiles(single.latencies_ms)
    p50, p95, p99 = _percentiles(loaded.latencies_ms)
    expected = args.clients * args.turns
    print(
        f"chat load: {args.clients} WebSocket clients x {args.turns} turns, think time "
        f"{args.think_ms:.0f} ms +-50%, embedded server (inline executor, in-memory store)"
    )
    print(
        f"{'run':<22}{'msgs':>7}{'secs':>8}{'msg/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'errors':>8}{'lost':>6}{'order':>7}"
    )
    for name, results, duration, p in (
        ("1 client, no pause", single, None, (single_p50, single_p95, single_p99)),
        (f"{args.clients} clients", loaded, seconds, (p50, p95, p99)),
    ):
        rate = f"{len(results.latencies_ms) / duration:8.1f}" if duration else f"{'-':>8}"
        secs = f"{duration:8.1f}" if duration else f"{'-':>8}"
        print(
            f"{name:<22}{len(results.latencies_ms):>7}{secs}{rate}{p[0]:9.1f}{p[1]:9.1f}"
            f"{p[2]:9.1f}{results.errors:>8}{results.lost:>6}{results.out_of_order:>7}"
        )
    replies_ok = len(loaded.latencies_ms) == expected and not (loaded.lost or loaded.out_of_order)
    latency_ok = p95 <= 10 * single_p50
    print(
        f"replies: {len(loaded.latencies_ms)}/{expected} "
        f"({'PASS' if replies_ok else 'FAIL'}: zero lost or out-of-order)"
    )
    print(
        f"p95 {p95:.1f} ms vs 10 x single-client p50 {10 * single_p50:.1f} ms: "
        f"{'PASS' if latency_ok else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
