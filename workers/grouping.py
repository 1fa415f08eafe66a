"""Parts that arrive together travel together: one task for a group instead of one per part.

Every task costs the same fixed work whatever it carries (a publish, the worker's delivery and
acknowledgement, storing and announcing a result), and with a fast encoder that fixed work, not
the model, bounds what a worker serves. So, per queue, the parts that arrive while a publish is
under way wait for it and leave together in the next one; a lone part leaves at once in its own
task, and light traffic waits for nothing. The worker's batcher still decides what is encoded
together (``fusiondesk.workers.batching``).

A group moves through the queue whole (redelivered whole if its worker dies), but its parts
fail alone: the worker answers each one, and a part that failed on the model is published
again by itself, through the single-part task with its retries and dead letter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fusiondesk.plugins import Encoding
from fusiondesk.service.aio import stop_task
from fusiondesk.service.understanding.executor import EncodeJob
from fusiondesk.workers.wire import WireEncoding, encoding_from_wire


@dataclass(frozen=True)
class GroupLimits:
    max_parts: int
    max_bytes: int
    """Payload bytes per group, roughly (audio and images are large; text is not)."""


class GroupTransport(Protocol):
    """The queue as the grouper sees it (``fusiondesk.workers.client.CeleryClient``)."""

    def new_task_id(self) -> str: ...

    async def publish(self, task_id: str, jobs: Sequence[EncodeJob]) -> None:
        """One job: the single-part task; several: one group task."""

    async def wait_single(self, task_id: str, job: EncodeJob, deadline: float) -> Encoding:
        """The part's encoding; raises its input error or its failure for good."""

    async def wait_group(
        self, task_id: str, jobs: Sequence[EncodeJob], deadline: float
    ) -> list[WireEncoding | None]:
        """Each part's answer; ``None`` for a part to publish again alone."""


Waiting = tuple[EncodeJob, "asyncio.Future[Encoding]"]


class PartGrouper:
    def __init__(
        self, transport: GroupTransport, limits: GroupLimits, result_timeout_s: float
    ) -> None:
        self._transport = transport
        self.limits = limits
        self._result_timeout_s = result_timeout_s
        self._waiting: dict[str, list[Waiting]] = {}
        self._drains: dict[str, asyncio.Task[None]] = {}
        self._settling: set[asyncio.Task[None]] = set()
        self._unanswered: set[asyncio.Future[Encoding]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def encode(self, queue: str, job: EncodeJob) -> Encoding:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (tests, CLI runs): the old one's parts went with it.
            self._loop, self._waiting, self._drains = loop, {}, {}
            self._settling, self._unanswered = set(), set()
        future: asyncio.Future[Encoding] = loop.create_future()
        self._unanswered.add(future)
        future.add_done_callback(self._unanswered.discard)
        self._waiting.setdefault(queue, []).append((job, future))
        drain = self._drains.get(queue)
        if drain is None or drain.done():
            self._drains[queue] = loop.create_task(self._drain(queue))
        return await future

    async def close(self) -> None:
        for task in [*self._drains.values(), *self._settling]:
            await stop_task(task)
        self._drains, self._settling = {}, set()
        for future in list(self._unanswered):
            _fail(future, RuntimeError("the queue client closed before this part's answer"))

    async def _drain(self, queue: str) -> None:
        # Parts that arrive while this publishes wait for it: that is what makes groups.
        waiting = self._waiting[queue]
        while waiting:
            group = [entry for entry in self._take(waiting) if not entry[1].done()]
            if not group:
                continue
            task_id = self._transport.new_task_id()
            jobs = [job for job, _ in group]
            try:
                await self._transport.publish(task_id, jobs)
            except Exception as error:  # the broker is down: every caller gets the 503
                for _, future in group:
                    _fail(future, error)
                continue
            deadline = time.monotonic() + self._result_timeout_s
            if len(group) == 1:
                job, future = group[0]
                self._in_background(
                    _resolve(future, self._transport.wait_single(task_id, job, deadline))
                )
            else:
                self._in_background(self._settle_group(task_id, group, deadline))

    def _take(self, waiting: list[Waiting]) -> list[Waiting]:
        taken, size = 0, 0
        for job, _ in waiting:
            size += _payload_bytes(job)
            if taken and (taken == self.limits.max_parts or size > self.limits.max_bytes):
                break
            taken += 1
        group = waiting[:taken]
        del waiting[:taken]
        return group

    async def _settle_group(self, task_id: str, group: list[Waiting], deadline: float) -> None:
        try:
            answers = await self._transport.wait_group(task_id, [job for job, _ in group], deadline)
        except Exception as error:
            for _, future in group:
                _fail(future, error)
            return
        for (job, future), answer in zip(group, answers, strict=True):
            if future.done():
                continue
            if answer is None:
                self._in_background(_resolve(future, self._encode_alone(job, deadline)))
                continue
            try:
                future.set_result(encoding_from_wire(answer))
            except Exception as error:  # the part's InputError, raised for its caller
                future.set_exception(error)

    async def _encode_alone(self, job: EncodeJob, deadline: float) -> Encoding:
        task_id = self._transport.new_task_id()
        await self._transport.publish(task_id, [job])
        return await self._transport.wait_single(task_id, job, deadline)

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)


async def _resolve(future: asyncio.Future[Encoding], work: Coroutine[Any, Any, Encoding]) -> None:
    try:
        encoding = await work
    except Exception as error:
        _fail(future, error)
        return
    if not future.done():
        future.set_result(encoding)


def _fail(future: asyncio.Future[Encoding], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _payload_bytes(job: EncodeJob) -> int:
    return sum(len(value) for value in job.payload.values() if isinstance(value, bytes | str))
