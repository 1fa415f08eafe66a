"""A dead worker's messages go back to the queue in seconds, not after the visibility timeout.

kombu's Redis transport keeps every delivered, unacknowledged message in its ``unacked`` hash
and returns it to the queue only once it is older than the visibility timeout (an hour by
default, because it must outlast the longest legitimate encode). Nothing there says which
worker holds a message, so a killed worker's messages wait out that hour.

Here each worker process is an *owner*: its hostname plus a random incarnation, so that a
replacement started under the same name is a different owner. The owner records every delivery
tag it receives in a set of its own (``fusiondesk:inflight:<owner>``), in the same Redis
transaction in which kombu records it as unacknowledged, and removes it once acknowledged. A
thread beats a key with a short time-to-live (``fusiondesk:alive:<owner>``,
``liveness_ttl_s``); it runs beside the task threads, so a worker busy with a slow encode keeps
beating and keeps its messages. Every beat, one worker of the fleet (whichever takes the sweep
lock) looks for owners whose key expired and puts their messages back through kombu's own
restore, which is atomic: a message restored twice is queued once.

From ``kill -9`` to the message back in the queue: at most the time-to-live (6 s by default)
plus one beat (2 s). One window is left that no worker-side record can close: kombu's ``BRPOP``
takes a message from the queue and the worker records it a few microseconds later; a worker
killed in between takes the message with it. The API publishes a part again when it has no
result after ``resubmit_after_s`` (60 s by default), so such a message is late, not lost.
A message is queued again, not lost, if its worker was only cut off from Redis for longer than
the time-to-live: the encode may run twice, but a task's result is keyed by its id
and the API takes the first one (``fusiondesk.workers.client``): the customer is answered once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from kombu.exceptions import OperationalError
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.json import dumps as json_dumps

logger = logging.getLogger(__name__)

OWNERS_KEY = "fusiondesk:inflight-owners"
INFLIGHT_KEY_PREFIX = "fusiondesk:inflight:"
ALIVE_KEY_PREFIX = "fusiondesk:alive:"
SWEEP_LOCK_KEY = "fusiondesk:inflight-sweep"
BEATS_PER_TTL = 3
"""A worker is dead once it missed this many beats (two may be lost to a busy moment)."""
MIN_TTL_S = 6.0
"""Never less: a starved machine (load 10 on 2 cores) delays a beat by a second or more, and a
live worker's messages must not be taken from it. Short heartbeats only refresh statistics."""


def liveness_ttl_s(beat_s: float) -> float:
    return max(MIN_TTL_S, beat_s * BEATS_PER_TTL)


Restore = Callable[[str], None]
"""Puts the message of one delivery tag back in its queue (kombu's ``restore_by_tag``)."""


def new_owner(hostname: str) -> str:
    return f"{hostname}/{uuid.uuid4().hex[:8]}"


def inflight_key(owner: str) -> str:
    return INFLIGHT_KEY_PREFIX + owner


def track_deliveries(client: redis.Redis, owner: str) -> None:
    """Make this process's kombu Redis channels record the delivery tags ``owner`` holds.

    Recorded in kombu's own transaction and forgotten after kombu's acknowledgement, so a kill
    at any point leaves either nothing recorded or a tag recorded whose message is
    unacknowledged (returned by the sweep) or already settled (skipped by it).
    """
    key = inflight_key(owner)
    QoS = kombu_redis.QoS
    # kombu is unannotated: the originals, typed loosely to be called from typed code.
    ack: Callable[..., None] = QoS.ack
    reject: Callable[..., None] = QoS.reject
    base_append: Callable[..., None] = virtual.QoS.append
    encode: Callable[[object], str] = json_dumps

    def tracked_append(self: Any, message: Any, delivery_tag: str) -> None:
        # kombu's ``QoS.append`` with our record added to its transaction. Two transactions
        # left a window (the test that kills a worker the moment it holds a message hit it):
        # the tag recorded here, the message not yet unacknowledged, so the sweep had nothing
        # to return and the message was gone.
        delivery = message.delivery_info
        record = encode([message._raw, delivery["exchange"], delivery["routing_key"]])
        with self.pipe_or_acquire() as pipe:
            pipe.sadd(key, delivery_tag)
            pipe.zadd(self.unacked_index_key, {delivery_tag: time.time()})
            pipe.hset(self.unacked_key, delivery_tag, record)
            pipe.execute()
        base_append(self, message, delivery_tag)

    def tracked_ack(self: Any, delivery_tag: str) -> None:
        if not _on_open_channel(ack, self, delivery_tag):
            # Done and its result stored: forget kombu's unacknowledged copy through our client.
            pipe = client.pipeline()
            pipe.zrem(self.unacked_index_key, delivery_tag)
            pipe.hdel(self.unacked_key, delivery_tag)
            pipe.execute()
        client.srem(key, delivery_tag)

    def tracked_reject(self: Any, delivery_tag: str, requeue: bool = False) -> None:
        if _on_open_channel(reject, self, delivery_tag, requeue):
            client.srem(key, delivery_tag)

    QoS.append = tracked_append  # type: ignore[method-assign]
    QoS.ack = tracked_ack  # type: ignore[method-assign]
    QoS.reject = tracked_reject  # type: ignore[method-assign]


def _on_open_channel(settle: Callable[..., None], qos: Any, *args: Any) -> bool:
    """Acknowledge (or reject) on kombu's channel; False when that channel already closed.

    A task that finishes after Redis restarted settles on the channel of the lost connection,
    whose client is gone (``AttributeError`` on ``None``), and Celery took that for an
    unrecoverable error and stopped the worker (both workers of ``bench/chaos.py`` did). kombu's
    own restore of that channel's messages fails the same way, so they are still recorded as
    unacknowledged: an ack is completed through this module's client; a reject leaves the
    message to the visibility timeout.
    """
    try:
        settle(qos, *args)
    except AttributeError as error:
        logger.warning("settled on a closed channel (the broker restarted); skipped: %s", error)
        return False
    return True


class Liveness:
    """One owner's heartbeat, and the fleet's sweep for the messages of dead owners."""

    def __init__(
        self, client: redis.Redis, owner: str, beat_s: float, ttl_s: float, restore: Restore
    ) -> None:
        self.client = client
        self.owner = owner
        self.beat_s = beat_s
        self.ttl_ms = int(ttl_s * 1000)
        self._restore = restore
        self._in_contact_since: float | None = None
        self._stop = threading.Event()

    def beat(self) -> None:
        pipe = self.client.pipeline()
        pipe.set(ALIVE_KEY_PREFIX + self.owner, b"1", px=self.ttl_ms)
        pipe.sadd(OWNERS_KEY, self.owner)
        pipe.execute()

    def sweep(self) -> int:
        """Return the messages of owners whose heartbeat expired; how many went back.

        Only after a whole time-to-live in contact with Redis: after an outage (or a Redis
        restart that expired every key) the live workers must have had time to beat again,
        or their messages would be taken from under them.
        """
        now = time.monotonic()
        if self._in_contact_since is None or now - self._in_contact_since < self.ttl_ms / 1000:
            return 0
        if not self.client.set(SWEEP_LOCK_KEY, self.owner, nx=True, px=int(self.beat_s * 1000)):
            return 0  # another worker sweeps this beat
        owners = sorted(_text(member) for member in self.client.smembers(OWNERS_KEY))
        pipe = self.client.pipeline()
        for owner in owners:
            pipe.exists(ALIVE_KEY_PREFIX + owner)
        dead = [owner for owner, alive in zip(owners, pipe.execute(), strict=True) if not alive]
        return sum(self.return_messages(owner) for owner in dead)

    def return_messages(self, owner: str) -> int:
        """Put ``owner``'s unacknowledged messages back in their queues; forget the owner."""
        key = inflight_key(owner)
        tags = [_text(tag) for tag in self.client.smembers(key)]
        for tag in tags:
            self._restore(tag)  # a tag already acknowledged or restored is skipped
            self.client.srem(key, tag)
        if tags:
            logger.warning("returned %d in-flight message(s) of %s to the queue", len(tags), owner)
        # A worker that was only cut off re-adds itself with its next beat.
        self.client.srem(OWNERS_KEY, owner)
        return len(tags)

    def withdraw(self) -> int:
        """On the way out: give this owner's messages back and stop being an owner."""
        self._stop.set()
        returned = self.return_messages(self.owner)
        self.client.delete(ALIVE_KEY_PREFIX + self.owner)
        return returned

    def run(self) -> None:
        """Beat and sweep every ``beat_s`` until ``withdraw`` (on a thread of its own)."""
        while not self._stop.is_set():
            try:
                self.beat()
                if self._in_contact_since is None:
                    self._in_contact_since = time.monotonic()
                self.sweep()
            except (redis.RedisError, OSError, OperationalError) as error:
                self._in_contact_since = None
                logger.warning("liveness beat failed, retrying: %s", error)
            self._stop.wait(self.beat_s)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="liveness", daemon=True)
        thread.start()
        return thread


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
