"""Human handoff with two pages at once in real Chromium: a customer on the demo shop asks for
a person (typed, or by voice), an agent on /agent/ sees it, claims it and replies, the customer
answers, the agent hands back, and the bot answers again."""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fusiondesk.plugins import PluginRegistry
from tests.browser.conftest import has_part_type
from tests.browser.test_widget import AXE, open_widget, replies, send_text, widget
from tests.images import encode, parcel_photo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect: Any = pytest.importorskip("playwright.sync_api").expect
SPOKEN_REQUEST = "I want to talk to a person"
SHOWN_WITHIN_MS = 1000
"""How soon the agent's page must list a handoff (issue 22)."""


@pytest.fixture(scope="module")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's fake microphone asks for a person (the browser fixture plays it)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/install-system-packages.sh)")
    folder = tmp_path_factory.mktemp("handoff-voice")
    speech = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(speech), SPOKEN_REQUEST], check=True)
    padded = folder / "speech-padded.wav"
    with wave.open(str(speech), "rb") as source, wave.open(str(padded), "wb") as target:
        target.setparams(source.getparams())
        silence = b"\0" * source.getsampwidth() * source.getnchannels() * source.getframerate() * 4
        target.writeframes(source.readframes(source.getnframes()) + silence)
    return padded


@pytest.fixture()
def agent_page(browser: Any, server: str) -> Iterator[Any]:
    """The agent inbox in a context of its own, connected as 'alice'."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto("/agent/")
    tab.get_by_label("Your name").fill("alice")
    tab.get_by_role("button", name="Connect").click()
    expect(tab.locator("#connection")).to_have_text("Connected as alice")
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the agent page: {errors}"


def conversation_id(page: Any) -> str:
    found = page.evaluate(
        "Object.values(localStorage).map(v => { try { return JSON.parse(v).id } "
        "catch (e) { return null } }).find(Boolean)"
    )
    assert isinstance(found, str)
    return found


def ask_by_voice(page: Any) -> None:
    widget(page).locator("button[aria-label='Record a voice message']").click()
    page.wait_for_timeout(2500)
    widget(page).locator("button[aria-label='Send voice message']").click()


@pytest.mark.parametrize("channel", ["typed", "voice"])
def test_customer_and_agent_pages_hand_off_and_back(
    page: Any,
    agent_page: Any,
    registry: PluginRegistry,
    test_domain: dict[str, Any],
    channel: str,
    screenshots_dir: Path,
) -> None:
    if channel == "voice" and not has_part_type(registry, "audio"):
        pytest.skip("no plugin for 'audio' parts is installed")
    open_widget(page)
    if channel == "voice":
        ask_by_voice(page)
    else:
        send_text(page, "Can I speak to a real person please?")
    expect(widget(page).locator(".banner")).to_be_visible()
    wanted = conversation_id(page)

    queued = agent_page.locator(f"#queue button[data-conversation='{wanted}']")
    expect(queued).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(queued).to_contain_text("Waiting")
    queued.click()
    entries = agent_page.locator("#entries")
    if channel == "voice":
        expect(entries.locator(".transcript")).to_contain_text("person", ignore_case=True)
        # The customer's recording plays in the agent's page.
        agent_page.wait_for_function(
            "() => { const a = document.querySelector('#entries audio'); "
            "return a !== null && a.readyState >= 1 && a.duration > 0; }"
        )
    expect(entries.locator("li.customer .understood").last).to_contain_text("talk_to_human")

    agent_page.get_by_role("button", name="Claim").click()
    expect(widget(page).locator(".banner")).to_have_text("alice from our team joined the chat.")
    agent_page.get_by_label("Reply to the customer").fill("Hi, I'm Alice. How can I help?")
    # The reply carries a photo the agent picked in the file input (made with Pillow).
    photo = {"name": "parcel.png", "mimeType": "image/png", "buffer": encode(parcel_photo(), "PNG")}
    agent_page.get_by_label("Attach files (images or PDF)").set_input_files(photo)
    agent_page.get_by_role("button", name="Send reply").click()
    expect(entries.locator("li.agent img[alt='parcel.png']")).to_be_visible()
    agent_row = widget(page).locator(".row.agent")
    expect(agent_row.locator(".text")).to_have_text("Hi, I'm Alice. How can I help?")
    expect(agent_row.locator(".who")).to_have_text("alice")
    expect_image_shown(agent_row.locator("img[alt='parcel.png']"))

    send_text(page, "my order 12345 never arrived")
    expect(entries.locator("li.customer .said").last).to_have_text("my order 12345 never arrived")
    bot_rows = widget(page).locator(".row.bot:not(.typing):not(.agent)")
    bots_before = bot_rows.count()

    if channel == "typed":
        page.mouse.move(0, 0)
        page.screenshot(path=str(screenshots_dir / "handoff-customer.png"))
        agent_page.screenshot(path=str(screenshots_dir / "handoff-agent.png"))
        check_accessibility(agent_page)

    agent_page.get_by_role("button", name="Hand back to bot").click()
    expect(widget(page).locator(".banner")).to_have_text(
        "You're chatting with our assistant again."
    )
    send_text(page, "where is my parcel")
    expect(bot_rows).to_have_count(bots_before + 1)
    assert bot_rows.last.locator(".text").text_content() in replies(test_domain, "order_status")

    page.reload()  # the history says who said what
    open_widget(page)
    expect(widget(page).locator(".row.agent .who")).to_have_text("alice")
    expect_image_shown(widget(page).locator(".row.agent img[alt='parcel.png']"))


def expect_image_shown(image: Any) -> None:
    """Visible and decoded: the customer's browser fetched the agent's file with its token."""
    expect(image).to_be_visible()
    expect(image).to_have_js_property("naturalWidth", parcel_photo().width)


def check_accessibility(agent_page: Any) -> None:
    if not AXE.exists():
        return
    agent_page.add_script_tag(path=str(AXE))
    result = agent_page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{violation['id']}: {violation['help']}"
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious
