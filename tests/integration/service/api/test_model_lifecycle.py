"""A fine-tuned encoder travels with its model; models swap without a restart."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from fusiondesk.plugins import Part, PluginRegistry
from fusiondesk.plugins.text.encoder import SentenceEncoder, packaged_minilm_path
from fusiondesk.service.api import create_app
from fusiondesk.service.api.security import sha256_hex
from fusiondesk.service.runtime import Runtime
from fusiondesk.service.settings import ApiKey, Auth, Settings
from fusiondesk.service.synth.voice import wav_bytes
from fusiondesk.service.training import TrainingOptions, train_from_file
from fusiondesk.service.training.finetune import FinetuneOptions
from fusiondesk.service.understanding.fusion.domain_words import (
    model_domain_words,
    save_domain_words,
)
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE, FusionConfig, FusionModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROWS = {
    "card_lost": ["I lost my card", "my card was stolen", "can't find my card", "card missing"],
    "balance": ["what is my balance", "how much money do I have", "balance please", "my funds"],
    "greeting": ["hello", "hi there", "good morning", "hey"],
}
ADMIN_KEY = "test-admin-key"


@pytest.fixture(scope="module")
def finetuned_model(
    tmp_path_factory: pytest.TempPathFactory, registry: PluginRegistry, settings: Settings
) -> Path:
    data = tmp_path_factory.mktemp("data") / "train.jsonl"
    data.write_text(
        "".join(json.dumps({"text": t, "intent": i}) + "\n" for i, ts in ROWS.items() for t in ts)
    )
    out = tmp_path_factory.mktemp("models") / "finetuned"
    train_from_file(
        data,
        out,
        registry,
        TrainingOptions(epochs=6, hidden_dim=32, batch_size=8, strategy="gated"),
        cache_dir=settings.cache_dir,
        finetune=FinetuneOptions(epochs=1, batch_size=4, learning_rate=5e-4),
        progress=False,
    )
    return out


def test_finetuned_encoder_is_saved_in_the_model_and_served(
    finetuned_model: Path, settings: Settings
) -> None:
    config = json.loads((finetuned_model / CONFIG_FILE).read_text())
    # Transcripts and OCR text are embedded with the tuned encoder too.
    assert config["plugin_settings"] == {
        "text": {"model_path": "encoders/text"},
        "voice": {"text_model_path": "encoders/text"},
        "image": {"text_model_path": "encoders/text"},
    }
    encoder_dir = finetuned_model / "encoders" / "text"
    assert (encoder_dir / "config.json").is_file()
    sentence = ["my card was stolen"]
    tuned = SentenceEncoder(encoder_dir).encode(sentence)
    base = SentenceEncoder(packaged_minilm_path()).encode(sentence)
    assert not np.allclose(tuned, base, atol=1e-4)  # fine-tuning changed the weights
    runtime = Runtime.from_settings(settings.model_copy(update={"model_dir": finetuned_model}))
    assert runtime.registry.get("text").config.model_path == encoder_dir  # type: ignore[attr-defined]
    for name in ("voice", "image"):
        config = runtime.registry.get(name).config
        assert config.text_model_path == encoder_dir  # type: ignore[attr-defined]


@pytest.fixture
def admin_client(
    settings: Settings,
    demo_model_dir: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[TestClient]:
    served = tmp_path / "served"
    shutil.copytree(demo_model_dir, served)
    app = create_app(
        settings.model_copy(
            update={
                "model_dir": served,
                "auth": Auth(
                    required=True,
                    api_keys=[
                        ApiKey(name="ops", sha256=sha256_hex(ADMIN_KEY), scopes=["chat", "admin"])
                    ],
                ),
                "model_watch_seconds": 0.2,
                # The models this test loads live in pytest's temporary directories.
                "models_root": tmp_path_factory.getbasetemp(),
            }
        )
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield client


def _intent(client: TestClient, text: str) -> str:
    response = client.post(
        "/v1/messages",
        json={"conversation_id": "c", "parts": [{"type": "text", "text": text}]},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert response.status_code == 200, response.text
    intent: str = response.json()["ranking"][0]["intent"]
    return intent


def test_admin_reload_swaps_models_and_keeps_the_old_one_on_failure(
    admin_client: TestClient, finetuned_model: Path, tmp_path: Path
) -> None:
    url = "/v1/admin/model"
    body = {"path": str(finetuned_model)}
    assert admin_client.post(url, json=body).status_code == 401
    wrong = {"X-API-Key": "nope"}
    assert admin_client.post(url, json=body, headers=wrong).json()["error"]["code"] == (
        "unauthorized"
    )
    headers = {"X-API-Key": ADMIN_KEY}
    assert _intent(admin_client, "where is my parcel") == "order_status"  # the demo model
    runtime = admin_client.app.state.runtime  # type: ignore[attr-defined]
    demo_hint = _voice_hint(runtime.registry)
    assert demo_hint == ", ".join(model_domain_words(runtime.model_dir)) and "parcel" in demo_hint

    missing = admin_client.post(url, json={"path": str(tmp_path / "nope")}, headers=headers)
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "model_not_found"
    assert _intent(admin_client, "where is my parcel") == "order_status"  # still the old one

    swapped = admin_client.post(url, json=body, headers=headers)
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["strategy"] == "gated" and swapped.json()["intents"] == 3
    assert admin_client.get("/readyz").json()["model"]["path"] == str(finetuned_model)
    assert _intent(admin_client, "someone stole my card") == "card_lost"
    assert runtime.registry.get("text").config.model_path == finetuned_model / "encoders" / "text"
    # Whisper now expects the new model's words, not the demo's.
    assert _voice_hint(runtime.registry) == ", ".join(model_domain_words(finetuned_model))
    assert "card" in _voice_hint(runtime.registry) and "parcel" not in _voice_hint(runtime.registry)


def _voice_hint(registry: PluginRegistry) -> str:
    voice = registry.get("voice")
    payload = voice.preprocess(
        Part("audio", data=wav_bytes(np.zeros(8000, dtype=np.int16), 16_000))
    )
    hint: str = payload["hotwords"]
    return hint


def test_file_watch_reloads_a_rewritten_model(admin_client: TestClient) -> None:
    runtime = admin_client.app.state.runtime  # type: ignore[attr-defined]
    config_path = runtime.model_dir / CONFIG_FILE
    config = json.loads(config_path.read_text())
    config["calibration"]["threshold"] = 0.987
    # Retrained on another domain: new words, written before the config the watch looks at.
    save_domain_words(runtime.model_dir, ["refund", "voucher"])
    config_path.write_text(json.dumps(config))
    deadline = time.monotonic() + 30
    while runtime.router.classifier.threshold != pytest.approx(0.987):
        assert time.monotonic() < deadline, "the watch did not reload the model"
        time.sleep(0.1)
    assert _voice_hint(runtime.registry) == "refund, voucher"


def test_admin_reload_refuses_a_model_no_plugin_can_feed(
    admin_client: TestClient, tmp_path: Path
) -> None:
    runtime = admin_client.app.state.runtime  # type: ignore[attr-defined]
    config = json.loads((runtime.model_dir / CONFIG_FILE).read_text())
    config["slots"] = [{"name": "thermal", "dim": 16, "space": "thermal"}]
    unservable = tmp_path / "thermal"
    FusionModel(FusionConfig.model_validate(config)).save(unservable)
    save_domain_words(unservable, ["infrared"])
    hint = _voice_hint(runtime.registry)

    refused = admin_client.post(
        "/v1/admin/model", json={"path": str(unservable)}, headers={"X-API-Key": ADMIN_KEY}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "model_unservable"
    assert "thermal" in refused.json()["error"]["message"]
    # The old model kept serving throughout.
    assert admin_client.get("/readyz").json()["model"]["path"] == str(runtime.model_dir)
    assert _intent(admin_client, "where is my parcel") == "order_status"
    assert _voice_hint(runtime.registry) == hint  # nor did the refused model's words
