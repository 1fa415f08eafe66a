"""all-mpnet-base-v2 for real: unpacked from its five wheels, trained on, served by the API.

One process loads mpnet once (the encoder is shared per path): training, evaluating and the
API all reuse it. The unpack goes into this run's private FUSIONDESK_HOME.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fusiondesk.plugins.text.packaged import MPNET_SHA256, WEIGHTS_FILE, packaged_encoder_name
from fusiondesk.service.api import create_app
from fusiondesk.service.settings import Settings
from fusiondesk.service.training import TrainingOptions, evaluate_file, train_from_file
from fusiondesk.service.understanding.fusion import IntentClassifier
from fusiondesk.service.understanding.wiring import build_model_registry, build_registry
from tests.integration.service.api.messages import send_text

pytestmark = pytest.mark.slow

ROWS = {
    "card_lost": ["I lost my card", "my card was stolen", "can't find my bank card", "lost card"],
    "balance": ["what is my balance", "how much money do I have", "show my balance", "funds?"],
    "greeting": ["hello", "hi there", "good morning", "hey"],
}
TEST_ROWS = {"card_lost": ["someone took my card"], "balance": ["tell me my balance"]}


def _jsonl(path: Path, rows: dict[str, list[str]]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t, "intent": i}) + "\n" for i, ts in rows.items() for t in ts)
    )
    return path


def test_a_model_trained_on_mpnet_records_it_and_is_served_with_it(
    tmp_path: Path, settings: Settings
) -> None:
    registry = build_registry(settings, "mpnet")
    unpacked = registry.get("text").config.model_path  # type: ignore[attr-defined]
    assert unpacked == settings.cache_dir / "models" / "all-mpnet-base-v2"
    assert packaged_encoder_name(unpacked) == "mpnet"
    assert (unpacked / WEIGHTS_FILE).stat().st_size > 400_000_000  # the real weights, checked
    assert MPNET_SHA256.startswith("78c0197b")

    model_dir = tmp_path / "model"
    train_from_file(
        _jsonl(tmp_path / "train.jsonl", ROWS),
        model_dir,
        registry,
        TrainingOptions(epochs=30),
        cache_dir=None,
        progress=False,
    )
    slots = json.loads((model_dir / "config.json").read_text())["slots"]
    assert slots == [{"name": "text", "dim": 768, "space": "text", "encoder": "mpnet"}]

    served = build_model_registry(settings.model_copy(update={"text_encoder": "minilm"}), model_dir)
    text = served.get("text")
    assert text.config.model_path == unpacked  # type: ignore[attr-defined]
    evaluation = evaluate_file(
        IntentClassifier.load(model_dir),
        _jsonl(tmp_path / "test.jsonl", TEST_ROWS),
        served,
        cache_dir=None,
        progress=False,
    )
    assert evaluation.accuracy == 1.0
    # On CPU it runs as an ONNX graph fed without token_type_ids, which MPNet does not take.
    graph = text.encoder._graph  # type: ignore[attr-defined]
    assert graph is not None and graph.input_names == ("input_ids", "attention_mask")

    app = create_app(settings.model_copy(update={"model_dir": model_dir}))
    with TestClient(app, raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.1)
        body = send_text(client, "my card has been stolen", "mpnet-1")
    assert body["intent"] == "card_lost", body
