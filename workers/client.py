"""Submit work to the queue and wait for it without blocking an event loop.

Other systems use this client directly; the Celery executor is built on it. Publishing runs in
a small thread pool (kombu is synchronous); results arrive by Redis pub/sub the moment a worker
stores them, with a polling safety net (``ResultWatcher``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from celery import states
from kombu.exceptions import OperationalError
from kombu.serialization import loads

from fusiondesk.plugins import Encoding, Part, PluginRegistry
from fusiondesk.service.aio import stop_task
from fusiondesk.service.errors import FusionDeskError, NotReadyError
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import EncodeJob
from fusiondesk.service.understanding.preparation import prepare_parts_off_loop
from fusiondesk.workers.app import (
    RESUBMITTED_HEADER,
    RESULT_KEY_PREFIX,
    create_celery_app,
    encode_task_name,
    group_task_name,
)
from fusiondesk.workers.grouping import GroupLimits, PartGrouper
from fusiondesk.workers.wire import WireEncoding, encoding_from_wire

logger = logging.getLogger(__name__)

BROKER_ERRORS = (OperationalError, redis.RedisError, OSError)
MSGPACK_CONTENT_TYPE = "application/x-msgpack"
LISTEN_TIMEOUT_S = 1.0
RECONNECT_DELAY_S = 0.25


class BrokerUnavailableError(NotReadyError):
    """The queue cannot take new work right now (503 with Retry-After)."""

    code = "broker_unavailable"


class InferenceFailedError(FusionDeskError):
    """A part failed for good on the workers (its dead letter says why)."""

    code = "inference_failed"
    status = 502


class ResultTimeoutError(FusionDeskError):
    code = "inference_timeout"
    status = 504


@dataclass(frozen=True)
class Handle:
    """One submitted message: a task per part, in part order (jobs kept for resubmission)."""

    task_ids: tuple[str, ...]
    jobs: tuple[EncodeJob, ...]


class ResultWatcher:
    """Resolves futures as their results land in the Redis result backend.

    The backend publishes every result on a channel named after its key. Task ids made here
    start with this watcher's own prefix, so one pattern subscription hears exactly this
    process's results the moment a worker stores them (the listener alone uses that
    connection; redis-py subscribes again after a reconnect). Notifications can be missed (a
    result stored before the subscription, an outage), so a slower poll reads the keys still
    pending with one ``MGET`` per tick: a thousand waiting requests cost one round trip, and a
    Redis restart only delays them.
    """

    def __init__(self, url: str, poll_interval_s: float) -> None:
        self._url = url
        self.poll_interval_s = poll_interval_s
        self.prefix = uuid.uuid4().hex[:12]
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: aioredis.Redis | None = None

    def new_task_id(self) -> str:
        return f"{self.prefix}-{uuid.uuid4().hex}"

    async def wait(self, task_id: str, timeout_s: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        if not self._tasks or self._tasks[0].done() or self._tasks[0].get_loop() is not loop:
            self._redis = aioredis.Redis.from_url(self._url, socket_connect_timeout=2.0)
            self._pending = {}
            self._tasks = [loop.create_task(self._poll()), loop.create_task(self._listen())]
        future = self._pending.setdefault(task_id, loop.create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            raise ResultTimeoutError(
                f"No result for task {task_id} within {timeout_s:.0f}s; the workers may be "
                "down or overloaded."
            ) from None
        finally:
            self._pending.pop(task_id, None)

    async def close(self) -> None:
        for task in self._tasks:
            await stop_task(task)
        self._tasks = []
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _listen(self) -> None:
        assert self._redis is not None
        pubsub = self._redis.pubsub()
        pattern = f"{RESULT_KEY_PREFIX}{self.prefix}-*"
        try:
            while True:
                try:
                    if not pubsub.subscribed:
                        await pubsub.psubscribe(pattern)
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=LISTEN_TIMEOUT_S
                    )
                except (redis.RedisError, OSError) as error:
                    logger.warning("result notifications interrupted, retrying: %s", error)
                    await asyncio.sleep(RECONNECT_DELAY_S)
                    continue
                if message is not None and message["type"] == "pmessage":
                    channel = message["channel"].decode()
                    self._settle(channel.removeprefix(RESULT_KEY_PREFIX), message["data"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated in redis-py

    async def _poll(self) -> None:
        assert self._redis is not None
        while True:
            await asyncio.sleep(self.poll_interval_s)
            task_ids = [task_id for task_id, f in self._pending.items() if not f.done()]
            if not task_ids:
                continue
            try:
                raws = await self._redis.mget([RESULT_KEY_PREFIX + task_id for task_id in task_ids])
            except (redis.RedisError, OSError) as error:
                logger.warning("result backend unreachable, retrying: %s", error)
                await asyncio.sleep(RECONNECT_DELAY_S)
                continue
            for task_id, raw in zip(task_ids, raws, strict=True):
                if raw is not None:
                    self._settle(task_id, raw)

    def _settle(self, task_id: str, raw: bytes | str) -> None:
        future = self._pending.get(task_id)
        if future is None or future.done():
            return
        meta = _decode_result(raw)
        if meta.get("status") in states.READY_STATES:
            future.set_result(meta)


class CeleryClient:
    """Submits encode jobs to the queues and waits for their encodings.

    ``encode`` is the path the service takes: parts that arrive together share a task
    (``fusiondesk.workers.grouping``). ``submit``/``result`` publish one task per part and hand
    back a handle, for systems that keep their own books.
    """

    def __init__(self, settings: Settings, registry: PluginRegistry) -> None:
        self.settings = settings
        self.registry = registry
        self.app = create_celery_app(settings, results=False)
        self._results = ResultWatcher(
            settings.celery.resolved_result_backend,
            poll_interval_s=settings.celery.poll_interval_ms / 1000.0,
        )
        self._publisher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="celery-publish")
        config = settings.celery
        self._grouper = PartGrouper(
            self,
            GroupLimits(max_parts=config.group_max_parts, max_bytes=config.group_max_bytes),
            result_timeout_s=config.result_timeout_s,
        )

    async def encode(self, jobs: Sequence[EncodeJob]) -> list[Encoding]:
        """The encodings in job order; raises a part's ``InputError`` or its failure."""
        return list(
            await asyncio.gather(
                *(self._grouper.encode(self.registry.get(job.plugin).queue, job) for job in jobs)
            )
        )

    def new_task_id(self) -> str:
        return self._results.new_task_id()

    def submit_now(self, jobs: Sequence[EncodeJob]) -> Handle:
        """Publish one task per job (blocking; see ``submit`` for the asyncio version)."""
        handle = Handle(tuple(self.new_task_id() for _ in jobs), tuple(jobs))
        for task_id, job in zip(handle.task_ids, handle.jobs, strict=True):
            self._publish(task_id, [job])
        return handle

    def _publish(self, task_id: str, jobs: Sequence[EncodeJob], *, again: bool = False) -> None:
        """One job: the single-part task; several (one queue): the group task."""
        queue = self.registry.get(jobs[0].plugin).queue
        args: tuple[Any, ...]
        if len(jobs) == 1:
            name, args = encode_task_name(queue), (jobs[0].plugin, jobs[0].payload)
        else:
            name, args = group_task_name(queue), ([(job.plugin, job.payload) for job in jobs],)
        try:
            self.app.send_task(
                name,
                args=args,
                task_id=task_id,
                retry=False,
                # A second copy may meet the first one's stored result (fusiondesk.workers.tasks).
                headers={RESUBMITTED_HEADER: True} if again else None,
            )
        except BROKER_ERRORS as error:
            raise BrokerUnavailableError(
                f"The message queue is unreachable ({type(error).__name__}); try again shortly."
            ) from error

    async def publish(self, task_id: str, jobs: Sequence[EncodeJob]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._publisher, self._publish, task_id, jobs)

    async def submit(self, jobs: Sequence[EncodeJob]) -> Handle:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._publisher, self.submit_now, jobs)

    async def submit_parts(self, parts: Sequence[Part]) -> Handle:
        """Preprocess a message's parts here (cheap) and queue their encoding."""
        return await self.submit(await prepare_parts_off_loop(self.registry, parts))

    async def result(self, handle: Handle, timeout_s: float | None = None) -> list[Encoding]:
        """The encodings in part order; raises the part's ``InputError`` or a failure."""
        deadline = time.monotonic() + (timeout_s or self.settings.celery.result_timeout_s)
        return list(
            await asyncio.gather(
                *(
                    self.wait_single(task_id, job, deadline)
                    for task_id, job in zip(handle.task_ids, handle.jobs, strict=True)
                )
            )
        )

    async def wait_single(self, task_id: str, job: EncodeJob, deadline: float) -> Encoding:
        return _encoding_from_meta(task_id, await self._wait(task_id, [job], deadline))

    async def wait_group(
        self, task_id: str, jobs: Sequence[EncodeJob], deadline: float
    ) -> list[WireEncoding | None]:
        meta = await self._wait(task_id, jobs, deadline)
        answers = meta["result"] if meta["status"] == states.SUCCESS else None
        if not isinstance(answers, list) or len(answers) != len(jobs):
            logger.warning("group %s failed as a whole; its parts go again alone", task_id)
            return [None] * len(jobs)
        return [None if "failed" in answer else answer for answer in answers]

    async def _wait(
        self, task_id: str, jobs: Sequence[EncodeJob], deadline: float
    ) -> dict[str, Any]:
        resubmit_after_s = self.settings.celery.resubmit_after_s
        while True:
            remaining = deadline - time.monotonic()
            try:
                return await self._results.wait(task_id, max(0.0, min(remaining, resubmit_after_s)))
            except ResultTimeoutError:
                if remaining <= resubmit_after_s:
                    raise
            logger.warning(
                "no result for %s after %.0fs; publishing it again", task_id, resubmit_after_s
            )
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(
                self._publisher, functools.partial(self._publish, task_id, jobs, again=True)
            )

    async def close(self) -> None:
        await self._grouper.close()
        await self._results.close()
        self._publisher.shutdown(wait=False)


def _decode_result(raw: bytes | str) -> dict[str, Any]:
    """A result as Celery's Redis backend stored it (msgpack only: nothing else is accepted)."""
    meta: dict[str, Any] = loads(  # type: ignore[no-untyped-call]
        raw, MSGPACK_CONTENT_TYPE, "binary", accept={MSGPACK_CONTENT_TYPE}
    )
    return meta


def _encoding_from_meta(task_id: str, meta: dict[str, Any]) -> Encoding:
    if meta["status"] == states.SUCCESS:
        return encoding_from_wire(meta["result"])
    failure = meta.get("result") or {}
    reason = failure.get("exc_type", "error") if isinstance(failure, dict) else str(failure)
    raise InferenceFailedError(
        f"Encoding failed for good ({reason}); see the dead letter of task {task_id}."
    )
