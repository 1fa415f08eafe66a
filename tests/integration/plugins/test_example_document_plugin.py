"""The example third-party plugin (examples/fusiondesk-document), installed as its own package,
goes through routing, training and serving with no change to fusiondesk itself."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from fusiondesk.plugins import PluginRegistry
from tests.integration.installs import editable_install
from tests.integration.processes import FUSIONDESK, free_port, running, served
from tests.paths import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLE = ROOT / "examples" / "fusiondesk-document"

Letter = list[list[str]]
"""A PDF's pages, each a list of lines."""

TRAIN_LETTERS: dict[str, list[Letter]] = {
    "refund_request": [
        [["Dear support,", "I returned the broken kettle last week.", "Please refund 40 EUR."]],
        [["Hello,", "The jacket did not fit, so I sent it back.", "I would like my money back."]],
        [["Refund request", "Order 5521 arrived and I returned it.", "Please reimburse me."]],
        [["To customer service,", "You charged me for a returned item.", "Issue a refund."]],
    ],
    "delivery_missing": [
        [["Hello,", "My parcel for order 7781 has not arrived.", "Where is my package?"]],
        [["Dear team,", "The courier says delivered but nothing came.", "My parcel is missing."]],
        [["Delivery problem", "The courier never delivered my order.", "It never arrived."]],
        [["Hi,", "I am still waiting for my package.", "The delivery is lost."]],
    ],
    "change_address": [
        [["Address change", "I moved to 12 Rose Street, Leeds.", "Please update my address."]],
        [["Hello,", "Please ship my order to my new home address.", "New address below."]],
        [["Dear support,", "My delivery address is wrong.", "Change it to 4 Mill Lane."]],
        [["Hi,", "We are moving house next week.", "Update the shipping address please."]],
    ],
}
TRAIN_TEXTS = {
    "refund_request": ["I want my money back", "refund please"],
    "delivery_missing": ["my parcel never arrived", "package is missing"],
    "change_address": ["update my delivery address", "I moved house"],
}
HELD_OUT: dict[str, Letter] = {
    "refund_request": [
        ["Dear support,", "The blender stopped working so I sent it back."],
        ["I want a refund of my payment."],
    ],
    "delivery_missing": [["Hi,", "Order 9902 was never delivered."], ["Where is my parcel?"]],
    "change_address": [["Hello,", "I have a new home address."], ["Please change my address."]],
}


EXECUTORS = ["inline", "celery"]


def cli(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def pdf_module() -> ModuleType:
    """The example's PDF helpers, loaded from its file (this process cannot import the
    editable-installed package; see tests/integration/installs.py)."""
    spec = importlib.util.spec_from_file_location(
        "fusiondesk_document_pdf", EXAMPLE / "fusiondesk_document" / "pdf.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def write_pdf(pdf_module: ModuleType) -> Callable[[Letter], bytes]:
    writer: Callable[[Letter], bytes] = pdf_module.write_text_pdf
    return writer


@pytest.fixture(scope="module")
def env(fusiondesk_home: Path) -> dict[str, str]:
    return {**os.environ, "FUSIONDESK_HOME": str(fusiondesk_home)}


@pytest.fixture(scope="module")
def installed(registry: PluginRegistry) -> Iterator[str]:
    # The example's own build artefacts stay out of the source tree after the run.
    with editable_install(EXAMPLE) as distribution:
        yield distribution
    shutil.rmtree(EXAMPLE / "fusiondesk_document.egg-info", ignore_errors=True)


@pytest.fixture(scope="module")
def model_dir(
    installed: str,
    env: dict[str, str],
    write_pdf: Callable[[Letter], bytes],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """`fusiondesk train` on JSONL rows whose `document` field names PDF files."""
    data = tmp_path_factory.mktemp("documents")
    rows: list[dict[str, str]] = []
    for intent, letters in TRAIN_LETTERS.items():
        for number, letter in enumerate(letters):
            (data / f"{intent}-{number}.pdf").write_bytes(write_pdf(letter))
            rows.append({"document": f"{intent}-{number}.pdf", "intent": intent})
        rows.extend({"text": text, "intent": intent} for text in TRAIN_TEXTS[intent])
    (data / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    model = data / "model"
    trained = cli(*FUSIONDESK, "train", str(data / "train.jsonl"), "--out", str(model), env=env)
    assert trained.returncode == 0, trained.stderr
    return model


def test_the_examples_own_tests_pass(installed: str, env: dict[str, str]) -> None:
    tested = cli(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=EXAMPLE, env=env
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "11 passed" in tested.stdout


def test_installed_example_is_listed(installed: str, env: dict[str, str]) -> None:
    listed = cli(*FUSIONDESK, "plugins", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["document"]["part_types"] == ["document"]
    assert rows["document"]["slots"] == {"document_text": 384}
    assert rows["document"]["class"] == "fusiondesk_document.plugin.DocumentPlugin"


def test_training_adds_the_document_slot(model_dir: Path) -> None:
    config = json.loads((model_dir / "config.json").read_text())
    slots = {slot["name"]: slot for slot in config["slots"]}
    assert set(slots) == {"document_text", "text"}
    assert slots["document_text"]["space"] == "text"
    assert set(config["metadata"]["encoders"]) == {"document", "text"}


def _document_part(pdf: bytes) -> dict[str, Any]:
    return {
        "type": "document",
        "data": base64.b64encode(pdf).decode(),
        "media_type": "application/pdf",
    }


def _post(base_url: str, parts: Sequence[dict[str, Any]]) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/messages",
        # A conversation per message: a second message would need the first one's token.
        json={"conversation_id": f"doc-{uuid.uuid4().hex}", "parts": list(parts)},
        timeout=60,
    )


@pytest.fixture(scope="module", params=EXECUTORS)
def server(
    request: pytest.FixtureRequest, model_dir: Path, env: dict[str, str]
) -> Iterator[tuple[str, str]]:
    """The API serving the trained model with the named executor: (executor, base URL)."""
    executor: str = request.param
    serve_env = {**env, "FUSIONDESK_EXECUTOR": executor}
    if executor == "inline":
        with served(serve_env, "--model-dir", str(model_dir)) as base_url:
            yield executor, base_url
        return
    # Celery: a real Redis and a real worker process beside the API.
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.skip("redis-server is not installed (scripts/install-system-packages.sh)")
    port = free_port()
    serve_env["FUSIONDESK_CELERY__BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
    redis_command = [redis_server, "--port", str(port), "--save", "", "--appendonly", "no"]
    # The document plugin declares no queue, so its work goes to the default "gpu" queue.
    worker_command = [*FUSIONDESK, "worker", "--queues", "gpu,cpu"]
    with (
        running(redis_command, serve_env),
        running(worker_command, serve_env),
        served(serve_env, "--model-dir", str(model_dir)) as base_url,
    ):
        yield executor, base_url


def test_document_messages_are_classified(
    server: tuple[str, str], write_pdf: Callable[[Letter], bytes]
) -> None:
    executor, base_url = server
    assert httpx.get(f"{base_url}/readyz").json()["executor"] == executor
    for intent, letter in HELD_OUT.items():
        answer = _post(base_url, [_document_part(write_pdf(letter))])
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["intent"] == intent, (intent, body["ranking"])
        [part] = body["parts"]
        assert part["plugin"] == "document" and part["slots"] == ["document_text"]
        assert part["details"]["pages"] == 2
        assert body["reply"]  # the demo domain's reply for the intent (or the fallback)


def test_document_and_text_parts_fuse(
    server: tuple[str, str], write_pdf: Callable[[Letter], bytes]
) -> None:
    _, base_url = server
    letter = write_pdf(HELD_OUT["change_address"])
    answer = _post(
        base_url, [{"type": "text", "text": "see the attached letter"}, _document_part(letter)]
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["intent"] == "change_address"
    assert [p["plugin"] for p in answer.json()["parts"]] == ["text", "document"]


def test_a_form_upload_named_document_is_a_document_part(
    server: tuple[str, str], write_pdf: Callable[[Letter], bytes]
) -> None:
    _, base_url = server
    pdf = write_pdf(HELD_OUT["delivery_missing"])
    answer = httpx.post(
        f"{base_url}/v1/messages",
        data={"conversation_id": "doc-2"},
        files={"document": ("letter.pdf", pdf, "application/pdf")},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["intent"] == "delivery_missing"


@pytest.mark.parametrize(
    ("part", "status", "code"),
    [
        (
            {"type": "document", "data": base64.b64encode(b"%PDF-1.7 junk").decode()},
            422,
            "unreadable_pdf",
        ),
        (
            {
                "type": "document",
                "data": base64.b64encode(b"GIF89a").decode(),
                "media_type": "image/gif",
            },
            415,
            "unsupported_media",
        ),
        ({"type": "document", "text": "no file"}, 422, "missing_document"),
    ],
)
def test_bad_documents_get_json_errors(
    server: tuple[str, str], part: dict[str, Any], status: int, code: str
) -> None:
    _, base_url = server
    answer = _post(base_url, [part])
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
