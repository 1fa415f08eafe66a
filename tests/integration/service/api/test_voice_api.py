"""Spoken messages through ``POST /v1/messages`` on a model trained on BANKING77 text."""

from __future__ import annotations

import base64
import csv
import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.api import create_app
from fusiondesk.service.conversations.store import InMemoryConversationStore
from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import Settings
from fusiondesk.service.synth.voice import Delivery, espeak_available, speak, wav_bytes
from fusiondesk.service.training import TrainingOptions, train_from_file
from fusiondesk.service.understanding.executor import InlineExecutor
from tests.paths import SHARED_DATA
from tests.voice_audio import long_silence_flac, pcm, to_wav, video_without_audio, wav_to

BANKING77 = SHARED_DATA / "banking77"
# Card intents a cancellation request could mean, and others to tell them from (a small model
# trains in seconds; bench/voice_accuracy.py measures the whole data set).
INTENTS = [
    "compromised_card",
    "lost_or_stolen_card",
    "terminate_account",
    "card_arrival",
    "activate_my_card",
    "change_pin",
    "top_up_failed",
    "exchange_rate",
    "declined_card_payment",
]
CANCEL_CARD_INTENTS = {"compromised_card", "lost_or_stolen_card", "terminate_account"}
ROWS_PER_INTENT = 30

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,  # trains on spoken BANKING77 rows and gates on accuracy
    pytest.mark.skipif(
        not espeak_available(),
        reason="espeak-ng is not installed (scripts/install-system-packages.sh installs it)",
    ),
    pytest.mark.skipif(
        not (BANKING77 / "train.csv").is_file(), reason=f"BANKING77 is not at {BANKING77}"
    ),
]


@pytest.fixture(scope="module")
def banking_model(
    tmp_path_factory: pytest.TempPathFactory, registry: PluginRegistry, settings: Settings
) -> Path:
    """A text-only model on a BANKING77 subset: 9 intents, the first 30 rows of each."""
    taken = dict.fromkeys(INTENTS, 0)
    rows = []
    with (BANKING77 / "train.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if taken.get(row["category"], ROWS_PER_INTENT) < ROWS_PER_INTENT:
                taken[row["category"]] += 1
                rows.append(row)
    root = tmp_path_factory.mktemp("banking77")
    with (root / "train.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "category"])
        writer.writeheader()
        writer.writerows(rows)
    train_from_file(
        root / "train.csv",
        root / "model",
        registry,
        TrainingOptions(epochs=25, hidden_dim=256),
        cache_dir=settings.cache_dir,
        progress=False,
    )
    return root / "model"


@pytest.fixture(scope="module")
def client(
    banking_model: Path, registry: PluginRegistry, settings: Settings
) -> Iterator[TestClient]:
    """The real app on the session's plugins (Whisper loads once per test run)."""
    served = settings.model_copy(update={"model_dir": banking_model})
    runtime = Runtime(served, registry, InlineExecutor(registry), InMemoryConversationStore())
    with TestClient(create_app(runtime=runtime), raise_server_exceptions=False) as test_client:
        deadline = time.monotonic() + 120
        while test_client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, test_client.get("/readyz").json()
            time.sleep(0.1)
        yield test_client


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_spoken_cancel_my_card_gets_the_intent_typed_text_gets(client: TestClient) -> None:
    sentence = "I want to cancel my card"
    typed = _ok(
        client.post(
            "/v1/messages",
            json={"conversation_id": "t1", "parts": [{"type": "text", "text": sentence}]},
        )
    )
    assert typed["intent"] in CANCEL_CARD_INTENTS
    wav = speak(sentence, Delivery(voice="en-us", speed=150))
    by_upload = _ok(
        client.post(
            "/v1/messages",
            data={"conversation_id": "v1"},
            files={"audio": ("message.wav", wav, "audio/wav")},
        )
    )
    webm = wav_to("webm", wav)
    by_json = _ok(
        client.post(
            "/v1/messages",
            json={
                "conversation_id": "v2",
                "parts": [
                    {
                        "type": "audio",
                        "data": base64.b64encode(webm).decode(),
                        "media_type": "audio/webm;codecs=opus",
                    }
                ],
            },
        )
    )
    for body, container in ((by_upload, "wav"), (by_json, "webm")):
        assert body["intent"] == typed["intent"]
        [part] = body["parts"]
        assert part["plugin"] == "voice"
        assert part["slots"] == ["voice_acoustic", "voice_transcript"]
        details = part["details"]
        assert "cancel my card" in details["transcript"].lower()
        assert details["language"] == "en" and details["format"] == container
        assert details["duration_s"] == pytest.approx(len(wav) / 2 / 22_050, abs=0.2)
        assert details["timings_ms"]["transcribe"] > 0


def _png() -> bytes:
    image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda: b"", 422, "empty_audio"),
        (lambda: np.random.default_rng(0).bytes(20_000), 415, "unsupported_audio_format"),
        (lambda: long_silence_flac(2 * 3600), 413, "audio_too_long"),
        (video_without_audio, 422, "no_audio_track"),
        (_png, 415, "not_audio"),
        (lambda: wav_bytes(np.zeros(16_000 * 2, dtype=np.int16), 16_000), 422, "no_speech"),
        (lambda: to_wav(pcm(speak("yes"))[0][: 22_050 // 5], 22_050), 422, "audio_too_short"),
    ],
    ids=[
        "empty",
        "random-bytes",
        "two-hours",
        "video-no-audio",
        "png-named-wav",
        "silence",
        "a-fifth-of-a-second",
    ],
)
def test_bad_audio_gets_a_4xx_json_error_and_the_service_stays_up(
    client: TestClient, make: Any, status: int, code: str
) -> None:
    response = client.post(
        "/v1/messages",
        data={"conversation_id": "bad"},
        files={"audio": ("message.wav", make(), "audio/wav")},
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert client.get("/healthz").status_code == 200
    still = client.post(  # a new conversation each time: a second message needs a token
        "/v1/messages",
        json={
            "conversation_id": f"ok-{uuid.uuid4().hex[:8]}",
            "parts": [{"type": "text", "text": "change my pin"}],
        },
    )
    assert _ok(still)["intent"] == "change_pin"
