"""The chat widget in real headless Chromium against a real server and the demo model."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from fusiondesk.plugins import PluginRegistry
from tests.browser.conftest import INJECTION_REPLY, has_part_type
from tests.paths import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect: Any = pytest.importorskip("playwright.sync_api").expect
expect.set_options(timeout=30_000)  # a shared CI machine may take seconds to OCR or transcribe
AXE = ROOT / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SHADOW = "document.querySelector('#fusiondesk-widget').shadowRoot"


def widget(page: Any) -> Any:
    return page.locator("#fusiondesk-widget")


def open_widget(page: Any) -> None:
    widget(page).locator(".launcher").click()
    expect(widget(page).locator(".panel")).to_be_visible()


def send_text(page: Any, text: str) -> None:
    widget(page).locator("textarea").fill(text)
    widget(page).locator("textarea").press("Enter")


def replies(domain: dict[str, Any], intent: str) -> list[str]:
    return list(domain["intents"][intent]["replies"])


def wait_for_bot_rows(page: Any, count: int) -> Any:
    """The `count`-th bot row (the greeting is the first); returns its text element."""
    rows = widget(page).locator(".row.bot:not(.typing)")
    expect(rows).to_have_count(count)
    return rows.nth(count - 1).locator(".text")


def focused_class(page: Any) -> str:
    return str(page.evaluate(f"{SHADOW}.activeElement?.className ?? ''"))


def test_text_conversation_survives_a_reload(page: Any, test_domain: dict[str, Any]) -> None:
    open_widget(page)
    assert page.evaluate(f"{SHADOW}.activeElement.tagName") == "TEXTAREA"  # focus moved in
    textarea = widget(page).locator("textarea")
    textarea.type("first line")
    textarea.press("Shift+Enter")
    assert textarea.input_value() == "first line\n"  # Shift+Enter is a new line, not a send
    send_text(page, "my parcel arrived broken")
    reply = wait_for_bot_rows(page, 2).text_content()
    assert reply in replies(test_domain, "damaged_item")
    quick = widget(page).locator(".quick button")
    expect(quick).to_have_text(test_domain["intents"]["damaged_item"]["quick_replies"])
    expect(widget(page).locator(".row.customer time")).to_have_count(1)

    page.keyboard.press("Escape")
    expect(widget(page).locator(".panel")).to_be_hidden()
    assert "launcher" in focused_class(page)  # focus returns to the launcher

    page.reload()
    open_widget(page)
    expect(widget(page).locator(".row.customer .text")).to_have_text(["my parcel arrived broken"])
    assert wait_for_bot_rows(page, 2).text_content() == reply
    expect(widget(page).locator(".quick button")).to_have_count(len(quick.all_text_contents()))


def test_unread_badge_and_js_api(page: Any, test_domain: dict[str, Any]) -> None:
    page.evaluate("window.seen = []; FusionDesk.on('message', m => seen.push(m.role))")
    page.evaluate("FusionDesk.send('where is my parcel')")
    badge = widget(page).locator(".badge")
    expect(badge).to_have_text("1")
    assert page.evaluate("seen") == ["customer", "bot"]
    page.evaluate("FusionDesk.open()")
    expect(badge).to_be_hidden()
    assert wait_for_bot_rows(page, 2).text_content() in replies(test_domain, "order_status")
    page.evaluate("FusionDesk.setUser({name: 'Ada'})")
    expect(widget(page).locator(".row.bot .text").first).to_contain_text("Ada")
    stored = "Object.values(localStorage).join()"
    before = page.evaluate(stored)
    page.evaluate("FusionDesk.reset()")
    expect(widget(page).locator(".row.customer")).to_have_count(0)
    page.wait_for_function(f"old => {stored} && {stored} !== old", arg=before)  # a new one


def test_a_second_copy_of_the_script_keeps_the_first(page: Any) -> None:
    """Sites paste the tag twice; the bundle's first fragment returns before anything runs."""
    page.evaluate("window.first = FusionDesk")
    page.add_script_tag(url="/widget.js")
    assert page.evaluate("window.first === FusionDesk")
    expect(widget(page)).to_have_count(1)


def test_html_in_a_reply_renders_as_text(page: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_widget(page)
    send_text(page, "I can't log in to my account")
    text = wait_for_bot_rows(page, 2)
    assert "<img src=x onerror=alert(1)> again" in text.text_content()
    expect(text.locator("img")).to_have_count(0)
    expect(text.locator("strong")).to_have_text("Reset")
    expect(text.locator("li")).to_have_count(2)
    link = text.locator("a")
    expect(link).to_have_attribute("href", "https://example.com/help")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    page.wait_for_timeout(300)
    assert dialogs == [] and "onerror" in INJECTION_REPLY


def test_handoff_shows_a_banner_and_fires_the_event(page: Any) -> None:
    page.evaluate("window.handoffs = 0; FusionDesk.on('handoff', () => handoffs++)")
    open_widget(page)
    send_text(page, "I want to talk to a human agent")
    expect(widget(page).locator(".banner")).to_be_visible()
    assert page.evaluate("handoffs") == 1


def test_http_fallback_and_retry_when_websockets_are_blocked(
    page: Any, test_domain: dict[str, Any]
) -> None:
    page.add_init_script("window.WebSocket = function () { throw new Error('blocked'); };")
    attempts: list[str] = []

    def first_post_fails(route: Any) -> None:
        attempts.append(route.request.url)
        route.abort() if len(attempts) == 1 else route.continue_()

    page.route("**/v1/conversations/*/messages", first_post_fails)
    page.reload()
    open_widget(page)
    send_text(page, "my parcel arrived broken")
    # Three failed socket attempts with backoff, then server-sent events over POST: the first
    # POST is cut off, so the message offers a retry.
    retry = widget(page).locator(".row.customer .retry")
    expect(retry).to_be_visible()
    retry.click()
    assert wait_for_bot_rows(page, 2).text_content() in replies(test_domain, "damaged_item")
    assert len(attempts) == 2
    expect(retry).to_have_count(0)


def test_a_message_refused_for_a_passing_fault_is_sent_again_by_itself(
    page: Any, test_domain: dict[str, Any]
) -> None:
    page.add_init_script("window.WebSocket = function () { throw new Error('blocked'); };")
    attempts: list[str] = []

    def first_post_meets_no_worker(route: Any) -> None:
        attempts.append(route.request.post_data_json["message_id"])
        if len(attempts) > 1:
            route.continue_()
            return
        route.fulfill(
            status=503,
            headers={"Retry-After": "1", "Content-Type": "application/json"},
            body='{"error": {"code": "no_workers", "message": "No worker is serving."}}',
        )

    page.route("**/v1/conversations/*/messages", first_post_meets_no_worker)
    page.reload()
    open_widget(page)
    send_text(page, "my parcel arrived broken")
    # No click: the widget waits the Retry-After and sends the same message id again.
    assert wait_for_bot_rows(page, 2).text_content() in replies(test_domain, "damaged_item")
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    expect(widget(page).locator(".row.customer .retry")).to_have_count(0)


def test_screenshot_upload_gets_the_payment_reply(
    page: Any, registry: PluginRegistry, test_domain: dict[str, Any]
) -> None:
    if not has_part_type(registry, "image"):
        pytest.skip("no plugin for 'image' parts is installed (the image plugin's branch)")
    open_widget(page)
    widget(page).locator("input[type=file]").set_input_files(
        {"name": "error.png", "mimeType": "image/png", "buffer": payment_error_screenshot()}
    )
    expect(widget(page).locator(".thumb img")).to_have_count(1)
    widget(page).locator(".sendbtn").first.click()
    expect(widget(page).locator(".row.customer img")).to_have_count(1)
    assert wait_for_bot_rows(page, 2).text_content() in replies(test_domain, "payment_failed")


def test_a_vague_caption_with_a_screenshot_gets_the_payment_reply(
    page: Any, registry: PluginRegistry, test_domain: dict[str, Any]
) -> None:
    """What the widget invites: a line typed, a screenshot attached, both sent as one message."""
    if not has_part_type(registry, "image"):
        pytest.skip("no plugin for 'image' parts is installed (the image plugin's branch)")
    open_widget(page)
    widget(page).locator("textarea").fill("see attached")
    widget(page).locator("input[type=file]").set_input_files(
        {"name": "error.png", "mimeType": "image/png", "buffer": payment_error_screenshot()}
    )
    expect(widget(page).locator(".thumb img")).to_have_count(1)
    widget(page).locator(".sendbtn").first.click()
    customer = widget(page).locator(".row.customer")
    expect(customer.locator("img")).to_have_count(1)
    expect(customer.locator(".text")).to_have_text("see attached")
    assert wait_for_bot_rows(page, 2).text_content() in replies(test_domain, "payment_failed")


def test_voice_message_shows_transcript_and_reply(
    page: Any, registry: PluginRegistry, test_domain: dict[str, Any]
) -> None:
    if not has_part_type(registry, "audio"):
        pytest.skip("no plugin for 'audio' parts is installed (the voice plugin's branch)")
    open_widget(page)
    widget(page).locator("button[aria-label='Record a voice message']").click()
    expect(widget(page).locator(".recorder")).to_be_visible()
    page.wait_for_timeout(2500)
    assert widget(page).locator(".timer").text_content() != "0:00"
    widget(page).locator("button[aria-label='Send voice message']").click()
    transcript = widget(page).locator(".row.customer .text")
    expect(transcript).to_contain_text("cancel", ignore_case=True)
    assert wait_for_bot_rows(page, 2).text_content() in replies(test_domain, "cancel_order")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots_and_accessibility(page: Any, theme: str, screenshots_dir: Path) -> None:
    """Takes the README's screenshots and runs axe-core on the open widget.

    `make screenshots` saves them over docs/img; otherwise they go to a temporary folder.
    """
    page.evaluate("theme => FusionDesk.init({theme})", theme)
    open_widget(page)
    send_text(page, "my parcel arrived broken")
    wait_for_bot_rows(page, 2)
    page.mouse.move(0, 0)
    desktop = screenshots_dir / f"widget-{theme}-desktop.png"
    page.screenshot(path=str(desktop))
    if AXE.exists():
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "axe.run({include: [['#fusiondesk-widget']]}, {resultTypes: ['violations']})"
        )
        serious = [
            f"{violation['id']}: {violation['help']}"
            for violation in result["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
        assert serious == [], serious
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(100)
    mobile = screenshots_dir / f"widget-{theme}-mobile.png"
    page.screenshot(path=str(mobile))
    for shot in (desktop, mobile):
        assert shot.read_bytes().startswith(b"\x89PNG"), shot
    if not AXE.exists():
        pytest.skip("axe-core is not installed (`make setup` installs it with npm)")


def payment_error_screenshot() -> bytes:
    """A rendered checkout error page, as a customer would screenshot it."""
    image_module = pytest.importorskip("PIL.Image")
    from PIL import ImageDraw, ImageFont

    image = image_module.new("RGB", (900, 420), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 900, 70), fill=(200, 30, 40))
    title = ImageFont.load_default(size=34)
    body = ImageFont.load_default(size=28)
    draw.text((30, 16), "Payment failed", fill="white", font=title)
    draw.text(
        (30, 120), "Error 504: your card payment could not be processed.", fill="black", font=body
    )
    draw.text((30, 180), "The payment was declined. Please try again", fill="black", font=body)
    draw.text((30, 220), "or use another card.", fill="black", font=body)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
