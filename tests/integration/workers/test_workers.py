"""The Celery executor with a real Redis and real worker processes (see redis_fixtures.py)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import EncodeJob
from fusiondesk.workers.local import LocalRedis, LocalWorkers
from tests.integration.redis_fixtures import MAX_RETRIES

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PHRASES = [
    "where is my parcel",
    "my card was stolen",
    "I want my money back for this order",
    "how do I reset my password",
    "can I talk to a human please",
]


def _text_part(phrase: str, tmp: Path) -> dict[str, Any]:
    return {"type": "text", "text": phrase}


def _audio_part(phrase: str, tmp: Path) -> dict[str, Any]:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/install-system-packages.sh)")
    wav = tmp / f"{uuid.uuid4().hex}.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), phrase], check=True)
    data = base64.b64encode(wav.read_bytes()).decode()
    return {"type": "audio", "data": data, "media_type": "audio/wav"}


def _image_part(phrase: str, tmp: Path) -> dict[str, Any]:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (640, 120), "white")
    font = ImageFont.load_default(size=32)
    ImageDraw.Draw(image).text((16, 40), phrase, fill="black", font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {
        "type": "image",
        "data": base64.b64encode(buffer.getvalue()).decode(),
        "media_type": "image/png",
    }


SAMPLE_PARTS = {"text": _text_part, "audio": _audio_part, "image": _image_part}
"""How to make a part of each type; a type is tested when its plugin is installed."""


def _message(
    conversation_id: str, part: dict[str, Any], message_id: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"conversation_id": conversation_id, "parts": [part]}
    if message_id is not None:
        body["message_id"] = message_id
    return body


@pytest.mark.parametrize("part_type", sorted(SAMPLE_PARTS))
def test_celery_gives_the_same_intents_as_inline(
    part_type: str,
    registry: PluginRegistry,
    client: TestClient,
    celery_api: TestClient,
    tmp_path: Path,
) -> None:
    if part_type not in registry.part_types:
        pytest.skip(f"no plugin for {part_type!r} parts is installed")
    for number, phrase in enumerate(PHRASES):
        # A conversation per phrase: a second message would need the first one's token.
        body = _message(f"same-{part_type}-{number}", SAMPLE_PARTS[part_type](phrase, tmp_path))
        inline = client.post("/v1/messages", json=body)
        celery = celery_api.post("/v1/messages", json=body)
        assert inline.status_code == celery.status_code == 200, (inline.text, celery.text)
        assert celery.json()["intent"] == inline.json()["intent"]
        assert celery.json()["confidence"] == pytest.approx(inline.json()["confidence"], abs=1e-4)
        assert _without_timings(celery.json()) == _without_timings(inline.json())
        if part_type == "audio":
            # The worker knows no model: it heard with the words of the model the API serves.
            assert celery.json()["parts"][0]["details"]["hint_words"] > 0


def test_input_errors_keep_their_status(celery_api: TestClient) -> None:
    response = celery_api.post("/v1/messages", json=_message("bad", {"type": "text", "text": " "}))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "empty_text"


def _turns(api: TestClient, conversation_id: str) -> list[Any]:
    runtime = api.app.state.runtime  # type: ignore[attr-defined]
    turns: list[Any] = api.portal.call(runtime.store.turns, conversation_id)  # type: ignore[union-attr]
    return turns


def test_killed_worker_loses_nothing(celery_api: TestClient, workers: LocalWorkers) -> None:
    count = 400
    # Server-made conversations (4: the store keeps 200 turns each) and their tokens, which
    # every message to them needs.
    made = [celery_api.post("/v1/conversations").json() for _ in range(4)]
    conversations = [conversation["conversation_id"] for conversation in made]
    bearer = [{"Authorization": f"Bearer {conversation['token']}"} for conversation in made]
    bodies = [
        _message(conversations[i % 4], {"type": "text", "text": f"{PHRASES[i % 5]} ({i})"}, f"m{i}")
        for i in range(count)
    ]
    try:
        with ThreadPoolExecutor(64) as pool:
            futures = [
                pool.submit(celery_api.post, "/v1/messages", json=b, headers=bearer[i % 4])
                for i, b in enumerate(bodies)
            ]
            while sum(f.done() for f in futures) < 40:
                time.sleep(0.01)
            # Both workers hold prefetched messages now; the victim's are redelivered.
            workers.kill("w2@test")
            answered_before_kill = sum(f.done() for f in futures)
            responses = [f.result(timeout=120) for f in futures]
        assert answered_before_kill < count, "the load ended before the kill; raise the count"
        assert [r.status_code for r in responses] == [200] * count, [
            r.text for r in responses if r.status_code != 200
        ][:3]
        message_ids = [t.message_id for c in conversations for t in _turns(celery_api, c)]
        assert sorted(message_ids) == sorted(f"m{i}" for i in range(count))  # each once
    finally:
        workers.start("w2@test")
        workers.wait_ready(["w2@test"])


def test_poison_message_ends_dead_without_blocking_others(
    celery_settings: Settings,
    registry: PluginRegistry,
    celery_api: TestClient,
    workers: LocalWorkers,
) -> None:
    from fusiondesk.workers.client import CeleryClient, InferenceFailedError

    # A payload that crashes the text model every time (a number where the tokenizer wants
    # text), sent by another system straight to the queue.
    poison = EncodeJob("text", {"text": 12345})

    async def scenario() -> tuple[float, float, BaseException | None, str]:
        client = CeleryClient(celery_settings, registry)
        try:
            started = time.monotonic()
            bad = await client.submit([poison])
            good = await client.submit([EncodeJob("text", {"text": p}) for p in PHRASES * 4])
            encodings = await client.result(good, timeout_s=60)
            good_seconds = time.monotonic() - started
            assert len(encodings) == 20 and all("text" in e.slots for e in encodings)
            try:
                await client.result(bad, timeout_s=60)
            except InferenceFailedError as error:
                return good_seconds, time.monotonic() - started, error, bad.task_ids[0]
            return good_seconds, time.monotonic() - started, None, bad.task_ids[0]
        finally:
            await client.close()

    good_seconds, poison_seconds, error, task_id = asyncio.run(scenario())
    assert error is not None, "the poison message was encoded"
    # The poison retries with backoff (1 s, 2 s); its neighbours are answered meanwhile.
    assert good_seconds < poison_seconds, "good messages waited behind the poison message"
    letters = celery_api.get("/v1/dead-letters").json()["dead_letters"]
    [letter] = [letter for letter in letters if letter["task_id"] == task_id]
    assert letter["tries"] == MAX_RETRIES + 1
    assert letter["plugin"] == "text"
    cli = subprocess.run(
        [str(Path(sys.executable).with_name("fusiondesk")), "dead-letters"],
        env=workers.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert task_id in cli.stdout


def test_a_poison_part_in_a_shared_task_fails_alone(
    celery_settings: Settings,
    registry: PluginRegistry,
    celery_api: TestClient,
    workers: LocalWorkers,
) -> None:
    from fusiondesk.workers.client import CeleryClient, InferenceFailedError

    jobs = [EncodeJob("text", {"text": p}) for p in PHRASES * 2]
    jobs.insert(3, EncodeJob("text", {"text": 12345}))  # crashes the model every time

    async def scenario() -> tuple[list[Any], list[tuple[str, int]]]:
        client = CeleryClient(celery_settings, registry)
        published: list[tuple[str, int]] = []
        publish = client._publish

        def counting_publish(task_id: str, jobs: Any, *, again: bool = False) -> None:
            published.append((task_id, len(jobs)))
            publish(task_id, jobs, again=again)

        client._publish = counting_publish  # type: ignore[method-assign]
        try:
            outcomes = await asyncio.gather(
                *(client.encode([job]) for job in jobs), return_exceptions=True
            )
            return list(outcomes), published
        finally:
            await client.close()

    outcomes, published = asyncio.run(scenario())
    # All eleven parts left in one task; the poison went again alone (then retried there).
    assert [size for _, size in published] == [len(jobs), 1]
    assert isinstance(outcomes[3], InferenceFailedError)
    good = [outcome for index, outcome in enumerate(outcomes) if index != 3]
    assert all(isinstance(o, list) and "text" in o[0].slots for o in good)
    letters = celery_api.get("/v1/dead-letters").json()["dead_letters"]
    [letter] = [letter for letter in letters if letter["task_id"] == published[1][0]]
    assert letter["tries"] == MAX_RETRIES + 1


def test_redis_outage_answers_503_then_recovers(
    celery_api: TestClient, redis_server: LocalRedis, workers: LocalWorkers
) -> None:
    # One conversation per message: messages of one conversation queue behind its lock, while
    # new conversations arriving during the outage must be refused at once.
    run = f"outage-{uuid.uuid4().hex[:8]}"
    results: list[tuple[str, int, dict[str, str]]] = []

    def send(index: int) -> None:
        body = _message(f"{run}-{index}", {"type": "text", "text": PHRASES[index % 5]}, f"o{index}")
        response = celery_api.post("/v1/messages", json=body)
        results.append((f"o{index}", response.status_code, dict(response.headers)))

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(send, i) for i in range(40)]  # load before the outage
        time.sleep(0.05)
        redis_server.stop()
        down_since = time.monotonic()
        index = 40
        while time.monotonic() - down_since < 5:
            futures.append(pool.submit(send, index))
            index += 1
            time.sleep(0.1)
        readyz_down = celery_api.get("/readyz")
        redis_server.start()
        for future in futures:
            future.result(timeout=120)
    statuses = {status for _, status, _ in results}
    assert statuses <= {200, 503}, results
    refused = [(mid, headers) for mid, status, headers in results if status == 503]
    assert refused, "no message was refused while Redis was down"
    assert all("retry-after" in headers for _, headers in refused)
    assert readyz_down.status_code == 503
    for mid, status, _ in results:  # accepted: answered and stored once; refused: not stored
        stored = [turn.message_id for turn in _turns(celery_api, f"{run}-{mid[1:]}")]
        assert stored == ([mid] if status == 200 else []), (mid, status, stored)
    # Recovered by itself: new messages are answered again.
    deadline = time.monotonic() + 30
    while celery_api.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, celery_api.get("/readyz").json()
        time.sleep(0.2)
    again = celery_api.post(
        "/v1/messages", json=_message(f"{run}-after", {"type": "text", "text": "hi"})
    )
    assert again.status_code == 200, again.text


def test_status_metrics_and_readyz_describe_the_fleet(
    celery_api: TestClient, workers: LocalWorkers
) -> None:
    for number, phrase in enumerate(PHRASES):
        assert (
            celery_api.post(
                "/v1/messages", json=_message(f"ops-{number}", {"type": "text", "text": phrase})
            ).status_code
            == 200
        )
    ready = celery_api.get("/readyz").json()
    assert ready["executor"] == "celery" and ready["broker"] == "ok"
    assert {"w1@test", "w2@test"} <= {w["hostname"] for w in ready["workers"]}
    time.sleep(1.0)  # a heartbeat publishes the batches just run
    metrics = celery_api.get("/metrics").text
    assert 'fusiondesk_queue_depth{queue="gpu"}' in metrics
    assert 'fusiondesk_batch_size_bucket{le="1.0",model="text"' in metrics or (
        'model="text"' in metrics and "fusiondesk_batch_size_bucket" in metrics
    )
    assert "fusiondesk_inference_seconds_count" in metrics
    status = subprocess.run(
        [str(Path(sys.executable).with_name("fusiondesk")), "status", "--json"],
        env=workers.env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(status.stdout)
    assert set(report["queues"]) == {"gpu", "cpu"}
    by_name = {w["hostname"]: w for w in report["workers"]}
    assert by_name["w1@test"]["models"]["text"]["loaded"] is True
    assert sum(w["models"]["text"]["items"] for w in report["workers"]) >= len(PHRASES)


def test_batch_is_ordered_complete_and_resumes(workers: LocalWorkers, tmp_path: Path) -> None:
    rows = [{"id": f"r{i}", "text": f"{PHRASES[i % 5]} #{i}"} for i in range(120)]
    rows[7] = {"id": "r7", "text": ""}  # a row error, not an abort
    source = tmp_path / "backlog.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "out.jsonl"
    command = [
        str(Path(sys.executable).with_name("fusiondesk")), "batch", str(source),
        "--out", str(out), "--in-flight", "4", "--no-progress",
    ]  # fmt: skip
    first = subprocess.Popen(command, env=workers.env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not out.exists() or out.read_text().count("\n") < 20:
        assert time.monotonic() < deadline and first.poll() is None, "batch did not start"
        time.sleep(0.05)
    first.kill()  # interrupted half-way, perhaps mid-line
    first.wait()
    done_before = out.read_text().count("\n")
    assert done_before < len(rows)
    resumed = subprocess.run(command, env=workers.env, capture_output=True, text=True, check=True)
    assert f"{done_before} already done" in resumed.stdout
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [result["row"] for result in results] == list(range(len(rows)))
    assert [result["id"] for result in results] == [row["id"] for row in rows]
    assert results[7]["error"]["code"] == "empty_text"
    assert all("intent" in result for i, result in enumerate(results) if i != 7)


def _without_timings(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts' details, less the stage timings that differ from run to run."""
    return [
        {key: value for key, value in part["details"].items() if key != "timings_ms"}
        for part in body["parts"]
    ]
