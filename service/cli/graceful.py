"""A uvicorn server whose stop is bounded: SIGTERM ends the process within a grace period.

uvicorn alone waits for every open request before it exits, and a message stuck on a dead
worker keeps it waiting for the result timeout (15 minutes), far past any orchestrator's grace
period. This server, on SIGTERM or SIGINT, also starts the runtime's drain: new messages are
answered 503 ``shutting_down`` at once, those in flight may finish for ``grace_s`` seconds and
are then cut off with the same 503 (clients retry with the same message id, answered once).
"""

from __future__ import annotations

import asyncio
import socket
from types import FrameType

import uvicorn
from fastapi import FastAPI

SHUTDOWN_MARGIN_S = 1.0
"""Time uvicorn gives connections after the grace period to send the answers of the messages
cut off at its end, before it cancels what is left."""


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI, grace_s: float) -> None:
        super().__init__(config)
        self.app = app
        self.grace_s = grace_s
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # A signal handler: hand the drain to the event loop rather than touch its state here.
        runtime = getattr(self.app.state, "runtime", None)
        if self.loop is not None and runtime is not None:
            self.loop.call_soon_threadsafe(runtime.in_flight.stop, self.grace_s)
