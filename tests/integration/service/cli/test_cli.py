from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

FUSIONDESK = [sys.executable, "-m", "fusiondesk.service.cli"]

TRAIN_ROWS = {
    "card_lost": [
        "I lost my card",
        "my card was stolen",
        "can't find my bank card",
        "someone took my card",
        "card is missing from my wallet",
        "lost card help",
    ],
    "balance": [
        "what is my balance",
        "how much money do I have",
        "show my account balance",
        "balance please",
        "how much is left in my account",
        "check my funds",
    ],
    "greeting": ["hello", "hi there", "good morning", "hey", "hiya", "good evening"],
}
TEST_ROWS = {
    "card_lost": ["I think my card got stolen", "I misplaced my card"],
    "balance": ["tell me my balance", "what's my current balance"],
    "greeting": ["hello there", "hi"],
}


def _write_jsonl(path: Path, rows: dict[str, list[str]]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t, "intent": i}) + "\n" for i, ts in rows.items() for t in ts)
    )
    return path


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FUSIONDESK, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture
def cli_env(fusiondesk_home: Path) -> dict[str, str]:
    return {**os.environ, "FUSIONDESK_HOME": str(fusiondesk_home)}


def test_train_then_evaluate_then_classify(tmp_path: Path, cli_env: dict[str, str]) -> None:
    train = _write_jsonl(tmp_path / "train.jsonl", TRAIN_ROWS)
    test = _write_jsonl(tmp_path / "test.jsonl", TEST_ROWS)
    model = tmp_path / "model"
    trained = _run("train", str(train), "--out", str(model), "--epochs", "40", env=cli_env)
    assert trained.returncode == 0, trained.stderr
    assert "Saved" in trained.stdout and "training" in trained.stderr  # the progress bar
    config = json.loads((model / "config.json").read_text())
    assert config["intents"] == ["balance", "card_lost", "greeting"]
    assert config["metadata"]["data"]["rows"] == 18
    assert (model / "model.safetensors").is_file()

    evaluated = _run("evaluate", str(model), str(test), env=cli_env)
    assert evaluated.returncode == 0, evaluated.stderr
    figures = dict(line.split() for line in evaluated.stdout.splitlines())
    assert float(figures["accuracy"]) >= 0.8 and int(figures["rows"]) == 6
    assert "macro_f1" in figures

    classified = _run("classify", "my card has been stolen", "--model-dir", str(model), env=cli_env)
    assert classified.returncode == 0, classified.stderr
    assert classified.stdout.startswith("card_lost")
    # The model has no domain of its own: classifying must not open the demo shop's knowledge.
    assert "knowledge base" not in classified.stderr


def test_plugins_lists_the_text_plugin(cli_env: dict[str, str]) -> None:
    listed = _run("plugins", "--json", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    text = next(p for p in json.loads(listed.stdout) if p["name"] == "text")
    assert text["slots"] == {"text": 384, "text_multilingual": 512}
    assert text["part_types"] == ["text"]


def test_bad_dataset_is_a_one_line_error(tmp_path: Path, cli_env: dict[str, str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no intent"}\n')
    result = _run("train", str(bad), "--out", str(tmp_path / "m"), env=cli_env)
    assert result.returncode != 0
    assert "missing or empty 'intent'" in result.stderr and "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_the_readme_example(cli_env: dict[str, str], demo_model_dir: Path) -> None:
    """What `make run` starts: the demo model served on a real port."""
    port = _free_port()
    server = subprocess.Popen(
        [*FUSIONDESK, "serve", "--port", str(port)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.3)
        reply = httpx.post(
            f"http://127.0.0.1:{port}/v1/messages",
            json={
                "conversation_id": "c1",
                "parts": [{"type": "text", "text": "where is my parcel"}],
            },
        ).json()
        assert reply["intent"] == "order_status"
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
