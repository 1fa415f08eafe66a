"""Backlogs through the queue (``fusiondesk batch``): bounded, ordered, resumable.

At most ``in_flight`` rows are in the queue at once; results are written strictly in input
order (a finished row waits for its predecessors), one line per row, and flushed as they go,
so the output's complete lines are always a prefix of the input: resuming skips that prefix.
A row that fails gets an ``error`` object instead of stopping the run.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from fusiondesk.plugins import Part, PluginError, PluginRegistry
from fusiondesk.service.errors import FusionDeskError
from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import Settings


@dataclass(frozen=True)
class BacklogSummary:
    total: int
    skipped: int
    answered: int
    errors: int
    seconds: float


def completed_rows(out_path: Path) -> int:
    """Complete lines already written; a torn last line (interrupted write) is cut off."""
    if not out_path.exists():
        return 0
    data = out_path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) != len(data):
        out_path.write_bytes(complete)
    return complete.count(b"\n")


def row_parts(row: dict[str, Any], registry: PluginRegistry) -> list[Part]:
    """``text`` is typed text; any other part type's field is a file path."""
    parts = []
    for part_type in registry.part_types:
        value = row.get(part_type)
        if value is None:
            continue
        if part_type == "text":
            parts.append(Part("text", text=str(value)))
            continue
        path = Path(str(value))
        parts.append(
            Part(
                part_type,
                data=path.read_bytes(),
                media_type=mimetypes.guess_type(path.name)[0],
                filename=path.name,
            )
        )
    return parts


async def _answer(runtime: Runtime, index: int, line: str) -> dict[str, Any]:
    result: dict[str, Any] = {"row": index}
    try:
        row = json.loads(line)
        if not isinstance(row, dict):
            raise ValueError("a row must be a JSON object")
        result["id"] = row.get("id")
        parts = row_parts(row, runtime.registry)
        if not parts:
            raise ValueError(f"no part fields; expected some of {runtime.registry.part_types}")
        understanding = await runtime.router.understand(parts)
        prediction = understanding.prediction
        request = runtime.reply_request(f"batch-{index}", parts, understanding, [], turn=0)
        reply = await runtime.responder.respond(request)
        result.update(
            intent=prediction.intent,
            confidence=round(prediction.confidence, 6),
            out_of_scope=prediction.out_of_scope,
            reply=reply.text,
            parts=[{"type": p.type, "details": p.details} for p in understanding.parts],
        )
    except (FusionDeskError, PluginError, ValueError, OSError) as error:
        code = getattr(error, "code", type(error).__name__)
        result["error"] = {"code": code, "message": str(error)}
    return result


def _lines(path: Path, skip: int) -> Iterator[tuple[int, str]]:
    """Every line is a row (a blank one gets an error), so row numbers are line numbers."""
    with path.open(encoding="utf-8") as source:
        for index, line in enumerate(source):
            if index >= skip:
                yield index, line


async def run_backlog(
    settings: Settings, input_path: Path, out_path: Path, *, in_flight: int, progress: bool
) -> BacklogSummary:
    started = time.perf_counter()
    with input_path.open("rb") as source:
        total = sum(1 for _ in source)
    skipped = completed_rows(out_path)
    runtime = Runtime.from_settings(settings)
    await runtime.start()
    slots = asyncio.Semaphore(in_flight)
    finished: dict[int, dict[str, Any]] = {}
    next_to_write = skipped
    answered = errors = 0
    bar = tqdm(total=total, initial=skipped, disable=not progress, unit="row")

    async def one(index: int, line: str) -> None:
        try:
            finished[index] = await _answer(runtime, index, line)
        finally:
            slots.release()

    try:
        with out_path.open("a", encoding="utf-8") as out:
            tasks = []
            for index, line in _lines(input_path, skipped):
                await slots.acquire()
                tasks.append(asyncio.create_task(one(index, line)))
                next_to_write, done = _flush(out, finished, next_to_write)
                answered, errors = answered + done[0], errors + done[1]
                bar.update(done[0] + done[1])
            await asyncio.gather(*tasks)
            next_to_write, done = _flush(out, finished, next_to_write)
            answered, errors = answered + done[0], errors + done[1]
            bar.update(done[0] + done[1])
    finally:
        bar.close()
        await runtime.close()
    return BacklogSummary(total, skipped, answered, errors, time.perf_counter() - started)


def _flush(
    out: Any, finished: dict[int, dict[str, Any]], next_to_write: int
) -> tuple[int, tuple[int, int]]:
    """Write the finished rows that continue the output; returns (next row, (ok, errors))."""
    ok = failed = 0
    while next_to_write in finished:
        result = finished.pop(next_to_write)
        out.write(json.dumps(result) + "\n")
        failed += "error" in result
        ok += "error" not in result
        next_to_write += 1
    if ok or failed:
        out.flush()
    return next_to_write, (ok, failed)
