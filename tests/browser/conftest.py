"""A real server (uvicorn, demo model) and one real headless Chromium for the widget tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.api import create_app
from fusiondesk.service.settings import Settings
from tests.paths import ROOT

CHROMIUM = Path("/usr/bin/chromium")
VOICE_SENTENCE = "I want to cancel my order"
INJECTION_REPLY = (
    "**Reset** your password here: [help centre](https://example.com/help)\n"
    "- check your spam folder\n"
    "- then try <img src=x onerror=alert(1)> again"
)
"""The reply of `account_login` in the test domain: Markdown to render and HTML to refuse."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots-dir",
        type=Path,
        default=None,
        help="save the widget's screenshots here (`make screenshots`: docs/img) instead of a "
        "temporary folder, so a test run never rewrites the tracked images",
    )


@pytest.fixture()
def screenshots_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the screenshot test saves its PNGs: --screenshots-dir, else this test's tmp_path."""
    # getoption needs a default: a run from the root does not load this conftest before parsing.
    chosen: Path | None = request.config.getoption("--screenshots-dir", default=None)
    folder = tmp_path if chosen is None else chosen
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def test_domain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo domain, except that account_login answers with an HTML-injection attempt."""
    demo = ROOT / "service" / "demo" / "domain.yaml"
    domain: dict[str, Any] = yaml.safe_load(demo.read_text(encoding="utf-8"))
    domain["intents"]["account_login"]["replies"] = [INJECTION_REPLY]
    return domain


@pytest.fixture(scope="session")
def server(
    settings: Settings,
    demo_model_dir: Path,
    test_domain: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Base URL of a real uvicorn serving the app, in a thread of this process."""
    domain_path = tmp_path_factory.mktemp("widget-domain") / "domain.yaml"
    domain_path.write_text(yaml.safe_dump(test_domain), encoding="utf-8")
    served = settings.model_copy(
        update={"model_dir": demo_model_dir, "domain_path": domain_path, "log_format": "text"}
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(create_app(served), host="127.0.0.1", port=port, log_level="warning")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        assert thread.is_alive(), "the server thread died"
        time.sleep(0.1)
    yield base
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """espeak-ng saying VOICE_SENTENCE, then silence: Chromium's fake microphone loops it."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/install-system-packages.sh)")
    folder = tmp_path_factory.mktemp("voice")
    speech = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(speech), VOICE_SENTENCE], check=True)
    padded = folder / "speech-padded.wav"
    with wave.open(str(speech), "rb") as source, wave.open(str(padded), "wb") as target:
        target.setparams(source.getparams())
        frames = source.readframes(source.getnframes())
        silence = b"\0" * source.getsampwidth() * source.getnchannels() * source.getframerate() * 4
        target.writeframes(frames + silence)
    return padded


# Module scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, which would break every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def browser(spoken_wav: Path) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (scripts/install-system-packages.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={spoken_wav}",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh browser context (own localStorage) on the demo shop, desktop-sized."""
    context = browser.new_context(
        base_url=server, viewport={"width": 1280, "height": 800}, permissions=["microphone"]
    )
    context.set_default_timeout(30_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto("/")
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def has_part_type(registry: PluginRegistry, part_type: str) -> bool:
    return part_type in registry.part_types
