"""Human handoff under load: 50 customer conversations handed off at once, 5 agents answering
through the API. Each customer (a WebSocket on the chat channel) asks for a person, then sends
messages one after the other (a think time apart, as people type: 1 s +-50% by default);
the agent who claimed the conversation (an agent feed WebSocket
plus the REST API) answers each one as soon as its feed shows it.

Measured: delivery latency customer -> agent (the customer's frame sent -> the message on the
owning agent's feed; this includes understanding the message, as the agent sees the intent)
and agent -> customer (the reply POST sent -> the reply on the customer's socket), p50/p95;
messages lost (never delivered within the timeout) and misrouted (delivered to the wrong
conversation or customer).

Target (issue 22): p95 <= 200 ms both ways on this machine, 0 lost, 0 misrouted.

    python bench/handoff.py                  # one embedded server, memory store (the default)
    python bench/handoff.py --processes 2    # customers on one API process, agents on
                                             # another, Redis store (needs redis-server)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from bench._server import running_server

TIMEOUT_S = 30.0
ASK_FOR_PERSON = "Can I speak to a real person please?"


@dataclass
class Tally:
    to_agent_ms: list[float] = field(default_factory=list)
    to_customer_ms: list[float] = field(default_factory=list)
    lost_to_agent: int = 0
    lost_to_customer: int = 0
    misrouted_to_agent: int = 0
    misrouted_to_customer: int = 0
    sent_at: dict[str, float] = field(default_factory=dict)
    """When each text was sent (customer messages and agent replies, all unique)."""
    owner: dict[str, str] = field(default_factory=dict)
    """Which conversation each text belongs to."""


def _ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


async def _next_event(socket: ClientConnection, wanted: str) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT_S))
        if event["event"] == wanted:
            return event


class Agent:
    """One agent: its feed, its conversations, and a reply to each of their messages."""

    def __init__(self, name: str, base: str, http: httpx.AsyncClient, tally: Tally) -> None:
        self.name, self.base, self.http, self.tally = name, base, http, tally
        self.mine: set[str] = set()
        self.feed: ClientConnection | None = None
        self.replies: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        self.feed = await connect(_ws_url(self.base, f"/v1/agent/feed?agent={self.name}"))
        await _next_event(self.feed, "queue")

    async def claim(self, conversation_id: str) -> None:
        response = await self.http.post(
            f"{self.base}/v1/agent/conversations/{conversation_id}/claim",
            headers={"X-Agent-Name": self.name},
        )
        response.raise_for_status()
        self.mine.add(conversation_id)

    async def serve(self) -> None:
        assert self.feed is not None
        async for raw in self.feed:
            event = json.loads(raw)
            if event["event"] != "customer_message" or event["conversation_id"] not in self.mine:
                continue
            received = time.perf_counter()
            for entry in event["entries"]:
                text = entry.get("text") or ""
                if text not in self.tally.sent_at:
                    continue
                if self.tally.owner[text] != event["conversation_id"]:
                    self.tally.misrouted_to_agent += 1
                self.tally.to_agent_ms.append((received - self.tally.sent_at.pop(text)) * 1000)
                task = asyncio.create_task(self.reply(event["conversation_id"], text))
                self.replies.add(task)
                task.add_done_callback(self.replies.discard)

    async def reply(self, conversation_id: str, customer_text: str) -> None:
        text = f"{self.name} answers {customer_text}"
        self.tally.owner[text] = conversation_id
        self.tally.sent_at[text] = time.perf_counter()
        response = await self.http.post(
            f"{self.base}/v1/agent/conversations/{conversation_id}/reply",
            headers={"X-Agent-Name": self.name},
            json={"text": text},
        )
        response.raise_for_status()


async def customer_hands_off(base: str, http: httpx.AsyncClient) -> tuple[str, ClientConnection]:
    created = (await http.post(f"{base}/v1/conversations")).json()
    conversation_id, token = created["conversation_id"], created["token"]
    socket = await connect(_ws_url(base, f"/v1/conversations/{conversation_id}/ws?token={token}"))
    await _next_event(socket, "history")
    await socket.send(
        json.dumps({"type": "message", "parts": [{"type": "text", "text": ASK_FOR_PERSON}]})
    )
    await _next_event(socket, "handoff")
    return conversation_id, socket


async def customer_talks(
    conversation_id: str, socket: ClientConnection, messages: int, think_ms: float, tally: Tally
) -> None:
    """Sends a message, waits for the agent's answer to it, thinks, and so on."""
    for index in range(messages):
        await asyncio.sleep(think_ms * random.uniform(0.5, 1.5) / 1000)
        text = f"{conversation_id} message {index}"
        tally.owner[text] = conversation_id
        tally.sent_at[text] = time.perf_counter()
        await socket.send(
            json.dumps({"type": "message", "parts": [{"type": "text", "text": text}]})
        )
        try:
            while True:
                event = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT_S))
                if event["event"] != "agent_message":
                    continue
                received = time.perf_counter()
                reply = event["entries"][0]["text"]
                if tally.owner.get(reply) != conversation_id:
                    tally.misrouted_to_customer += 1
                    continue
                tally.to_customer_ms.append((received - tally.sent_at.pop(reply)) * 1000)
                if reply.endswith(text):
                    break
        except TimeoutError:
            return  # counted as lost below: its text is still in sent_at


async def run(
    customers_url: str,
    agents_url: str,
    customers: int,
    agents: int,
    messages: int,
    think_ms: float,
) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(timeout=TIMEOUT_S, limits=limits) as http:
        desk = [Agent(f"agent{n}", agents_url, http, tally) for n in range(agents)]
        await asyncio.gather(*(agent.open() for agent in desk))
        serving = [asyncio.create_task(agent.serve()) for agent in desk]
        handed = await asyncio.gather(
            *(customer_hands_off(customers_url, http) for _ in range(customers))
        )
        await asyncio.gather(
            *(
                desk[n % agents].claim(conversation_id)
                for n, (conversation_id, _) in enumerate(handed)
            )
        )
        await asyncio.gather(
            *(customer_talks(cid, socket, messages, think_ms, tally) for cid, socket in handed)
        )
        for text in tally.sent_at:
            if " answers " in text:
                tally.lost_to_customer += 1
            else:
                tally.lost_to_agent += 1
        for task in serving:
            task.cancel()
        for agent in desk:
            assert agent.feed is not None
            await agent.feed.close()
        for _, socket in handed:
            await socket.close()
    return tally


def _row(name: str, latencies: list[float], expected: int, lost: int, misrouted: int) -> str:
    p50, p95 = np.percentile(latencies, [50, 95]) if latencies else (float("nan"),) * 2
    ok = "yes" if p95 <= 200 and lost == 0 and misrouted == 0 else "NO"
    return (
        f"{name:<20}{expected:>6}{len(latencies):>10}{p50:>9.1f}{p95:>9.1f}"
        f"{max(latencies, default=float('nan')):>9.1f}{lost:>6}{misrouted:>11}{ok:>5}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--messages", type=int, default=5, help="per customer, after the handoff")
    parser.add_argument(
        "--think-ms", type=float, default=1000.0, help="mean pause between messages"
    )
    parser.add_argument("--processes", type=int, choices=[1, 2], default=1)
    args = parser.parse_args()

    # One machine plays every customer and agent: no per-IP rate limit on the servers.
    env = {"FUSIONDESK_RATE_LIMITS__PER_IP_PER_MINUTE": "0"}
    with contextlib.ExitStack() as stack:
        if args.processes == 2:
            from fusiondesk.workers.local import LocalRedis

            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            redis = LocalRedis(folder)
            redis.start()
            stack.callback(redis.stop)
            env |= {"FUSIONDESK_STORE": "redis", "FUSIONDESK_REDIS_URL": redis.url}
            customers_url = stack.enter_context(running_server(env, timeout_s=600))
            agents_url = stack.enter_context(running_server(env, timeout_s=600))
            where = "2 API processes (customers on one, agents on the other), Redis store"
        else:
            customers_url = agents_url = stack.enter_context(running_server(env, timeout_s=600))
            where = "1 embedded API process, memory store"
        # Warm-up, not counted: the first messages take the lazy paths (as bench/load.py does).
        asyncio.run(run(customers_url, agents_url, 2, 1, 3, 0))
        started = time.perf_counter()
        tally = asyncio.run(
            run(
                customers_url, agents_url, args.customers, args.agents, args.messages, args.think_ms
            )
        )
        seconds = time.perf_counter() - started

    expected = args.customers * args.messages
    print(
        f"handoff: {args.customers} conversations handed off, {args.agents} agents, "
        f"{args.messages} messages each way per conversation, think time {args.think_ms:.0f} ms "
        f"+-50%, {where}; {seconds:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"{'direction':<20}{'sent':>6}{'delivered':>10}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"{'lost':>6}{'misrouted':>11}{'ok':>5}"
    )
    print(
        _row(
            "customer -> agent",
            tally.to_agent_ms,
            expected,
            tally.lost_to_agent,
            tally.misrouted_to_agent,
        )
    )
    print(
        _row(
            "agent -> customer",
            tally.to_customer_ms,
            expected,
            tally.lost_to_customer,
            tally.misrouted_to_customer,
        )
    )


if __name__ == "__main__":
    main()
