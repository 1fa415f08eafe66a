"""The API-side grouping of parts into shared tasks, against an in-memory queue."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from fusiondesk.plugins import Encoding, InvalidInputError
from fusiondesk.service.understanding.executor import EncodeJob
from fusiondesk.workers.grouping import GroupLimits, PartGrouper
from fusiondesk.workers.wire import (
    WireEncoding,
    encoding_from_wire,
    encoding_to_wire,
    failure_to_wire,
    input_error_to_wire,
)


class MemoryQueue:
    """Publishes take ``publish_s``; each text is 'encoded' as its length, or fails as asked."""

    def __init__(self, publish_s: float = 0.01, failing: Sequence[str] = ()) -> None:
        self.publish_s = publish_s
        self.failing = set(failing)
        self.published: list[list[str]] = []
        self._jobs: dict[str, list[EncodeJob]] = {}
        self._count = 0

    def new_task_id(self) -> str:
        self._count += 1
        return f"task-{self._count}"

    async def publish(self, task_id: str, jobs: Sequence[EncodeJob]) -> None:
        await asyncio.sleep(self.publish_s)
        if "broker down" in self.failing:
            raise ConnectionError("broker down")
        self.published.append([job.payload["text"] for job in jobs])
        self._jobs[task_id] = list(jobs)

    def _answer(self, job: EncodeJob) -> WireEncoding:
        text = job.payload["text"]
        if text == "bad input":
            return input_error_to_wire(InvalidInputError("not a sentence", code="bad_text"))
        if text in self.failing:
            return failure_to_wire(RuntimeError("model crashed"))
        return encoding_to_wire(Encoding({"text": np.array([len(text)], dtype=np.float32)}))

    async def wait_single(self, task_id: str, job: EncodeJob, deadline: float) -> Encoding:
        answer = self._answer(job)
        if "failed" in answer:
            raise RuntimeError(f"{task_id} failed for good")
        return encoding_from_wire(answer)

    async def wait_group(
        self, task_id: str, jobs: Sequence[EncodeJob], deadline: float
    ) -> list[WireEncoding | None]:
        answers = [self._answer(job) for job in self._jobs[task_id]]
        return [None if "failed" in answer else answer for answer in answers]


def _grouper(queue: MemoryQueue, max_parts: int = 32, max_bytes: int = 10_000) -> PartGrouper:
    return PartGrouper(queue, GroupLimits(max_parts, max_bytes), result_timeout_s=10)


async def _encode_all(grouper: PartGrouper, texts: Sequence[str]) -> list[object]:
    jobs = [EncodeJob("text", {"text": text}) for text in texts]
    outcomes = await asyncio.gather(
        *(grouper.encode("gpu", job) for job in jobs), return_exceptions=True
    )
    await grouper.close()
    return list(outcomes)


def _lengths(outcomes: Sequence[object]) -> list[float]:
    return [float(o.slots["text"][0]) for o in outcomes if isinstance(o, Encoding)]


def test_parts_that_arrive_together_leave_together() -> None:
    queue = MemoryQueue()
    texts = [f"message {i}" * (i + 1) for i in range(20)]
    outcomes = asyncio.run(_encode_all(_grouper(queue), texts))
    assert _lengths(outcomes) == [len(text) for text in texts]
    assert queue.published == [texts]


def test_parts_that_arrive_during_a_publish_wait_for_the_next_one() -> None:
    async def scenario(grouper: PartGrouper) -> None:
        first = asyncio.ensure_future(grouper.encode("gpu", EncodeJob("text", {"text": "a"})))
        await asyncio.sleep(0.002)  # the first publish is under way
        jobs = [EncodeJob("text", {"text": f"t{i}"}) for i in range(19)]
        await asyncio.gather(first, *(grouper.encode("gpu", job) for job in jobs))
        await grouper.close()

    queue = MemoryQueue(publish_s=0.02)
    asyncio.run(scenario(_grouper(queue)))
    assert [len(group) for group in queue.published] == [1, 19]


def test_a_lone_part_goes_out_at_once_in_its_own_task() -> None:
    async def one_at_a_time(grouper: PartGrouper) -> list[Encoding]:
        encodings = [await grouper.encode("gpu", EncodeJob("text", {"text": t})) for t in "abc"]
        await grouper.close()
        return encodings

    queue = MemoryQueue()
    assert len(asyncio.run(one_at_a_time(_grouper(queue)))) == 3
    assert queue.published == [["a"], ["b"], ["c"]]


def test_groups_respect_the_part_and_byte_limits() -> None:
    queue = MemoryQueue()
    asyncio.run(_encode_all(_grouper(queue, max_parts=4), [f"t{i}" for i in range(11)]))
    assert [len(group) for group in queue.published] == [4, 4, 3]

    queue = MemoryQueue()
    texts = ["x" * 40] * 6  # two fit under 100 bytes
    asyncio.run(_encode_all(_grouper(queue, max_bytes=100), texts))
    assert [len(group) for group in queue.published] == [2, 2, 2]


def test_a_failed_part_goes_again_alone_and_fails_alone() -> None:
    queue = MemoryQueue(failing=["poison"])
    texts = ["first", "one", "poison", "three"]
    outcomes = asyncio.run(_encode_all(_grouper(queue), texts))
    assert isinstance(outcomes[2], RuntimeError)
    assert _lengths(outcomes) == [5, 3, 5]
    assert queue.published == [texts, ["poison"]]


def test_an_input_error_reaches_its_own_caller_only() -> None:
    outcomes = asyncio.run(_encode_all(_grouper(MemoryQueue()), ["first", "bad input", "fine"]))
    assert isinstance(outcomes[1], InvalidInputError) and outcomes[1].code == "bad_text"
    assert _lengths(outcomes) == [5, 4]


def test_a_broker_outage_fails_every_waiting_part() -> None:
    queue = MemoryQueue(failing=["broker down"])
    outcomes = asyncio.run(_encode_all(_grouper(queue), ["a", "b", "c"]))
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)


def test_closing_answers_every_waiting_part() -> None:
    class SilentQueue(MemoryQueue):
        async def wait_group(
            self, task_id: str, jobs: Sequence[EncodeJob], deadline: float
        ) -> list[WireEncoding | None]:
            await asyncio.Event().wait()  # no worker ever answers
            raise AssertionError("unreachable")

    async def scenario(grouper: PartGrouper) -> list[BaseException | Encoding]:
        jobs = [EncodeJob("text", {"text": text}) for text in ("a", "b")]
        waiting = asyncio.gather(*(grouper.encode("gpu", j) for j in jobs), return_exceptions=True)
        await asyncio.sleep(0.05)
        await grouper.close()
        return list(await waiting)

    outcomes = asyncio.run(scenario(_grouper(SilentQueue())))
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
