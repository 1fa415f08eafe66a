"""Images through the real API: real Pillow images, real EfficientNet, real OCR, demo model."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from fusiondesk.plugins import Part
from fusiondesk.plugins.image import ImagePlugin
from tests.images import (
    PDF,
    SVG,
    encode,
    error_dialog,
    jpeg_declaring,
    parcel_photo,
    png_declaring,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DIALOG_PNG = encode(error_dialog("Error 504: payment failed"), "PNG")


def _image_plugin(client: TestClient) -> ImagePlugin:
    plugin = client.app.state.runtime.registry.get("image")  # type: ignore[attr-defined]
    assert isinstance(plugin, ImagePlugin)
    return plugin


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_error_dialog_screenshot_is_read_and_routed_to_payment(client: TestClient) -> None:
    body = _ok(
        client.post(
            "/v1/messages",
            data={"conversation_id": "img1"},
            files={"image": ("screenshot.png", DIALOG_PNG, "image/png")},
        )
    )
    assert body["intent"] == "payment_failed" and not body["out_of_scope"]
    [part] = body["parts"]
    assert part["type"] == "image" and part["slots"] == ["image_text", "image_visual"]
    ocr = part["details"]["ocr"]
    assert "504" in ocr["text"] and "payment failed" in ocr["text"].lower()
    # The dialog's title and button are read but only its message is embedded.
    assert "Checkout" in ocr["text"] and "Checkout" not in ocr["message"]
    assert "payment failed" in ocr["message"].lower() and "OK" not in ocr["message"].split()
    assert all(0.0 <= line["confidence"] <= 1.0 for line in ocr["lines"])
    assert part["details"]["format"] == "PNG"


def test_text_and_image_in_one_message_fill_both_slots(client: TestClient) -> None:
    message = {
        "conversation_id": "img2",
        "parts": [
            {"type": "text", "text": "this keeps happening when I pay"},
            {"type": "image", "data": base64.b64encode(DIALOG_PNG).decode()},
        ],
    }
    body = _ok(client.post("/v1/messages", json=message))
    assert body["intent"] == "payment_failed"
    assert [(p["type"], p["slots"]) for p in body["parts"]] == [
        ("text", ["text"]),
        ("image", ["image_text", "image_visual"]),
    ]


def test_several_images_in_one_message(client: TestClient) -> None:
    photo = encode(parcel_photo(), "JPEG")
    response = client.post(
        "/v1/messages",
        data={"conversation_id": "img3"},
        files=[
            ("image", ("dialog.png", DIALOG_PNG, "image/png")),
            ("image", ("parcel.jpg", photo, "image/jpeg")),
        ],
    )
    body = _ok(response)
    assert [p["details"]["format"] for p in body["parts"]] == ["PNG", "JPEG"]
    assert body["intent"] == "payment_failed"


def test_textless_photo_skips_recognition_and_the_text_slot(client: TestClient) -> None:
    plugin = _image_plugin(client)
    [encoding] = plugin.embed(
        [plugin.preprocess(Part("image", data=encode(parcel_photo(), "WEBP")))]
    )
    assert set(encoding.slots) == {"image_visual"}
    assert encoding.details["ocr"] == {
        "text": "",
        "lines": [],
        "regions": 0,
        "truncated": False,
        "message": "",
    }


def test_an_image_with_nothing_readable_is_refused_by_a_text_only_model(
    client: TestClient,
) -> None:
    photo = base64.b64encode(encode(parcel_photo(), "PNG")).decode()
    response = client.post(
        "/v1/messages",
        json={"conversation_id": "img4", "parts": [{"type": "image", "data": photo}]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_usable_content"


BAD_IMAGES: dict[str, tuple[bytes, int, str]] = {
    "empty file": (b"", 422, "empty_image"),
    "pdf renamed .png": (PDF, 415, "unsupported_image_format"),
    "svg renamed .png": (SVG, 415, "unsupported_image_format"),
    "text renamed .png": (b"just some words", 415, "unsupported_image_format"),
    "truncated png": (DIALOG_PNG[: len(DIALOG_PNG) // 2], 422, "corrupt_image"),
    "corrupt jpeg": (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, 422, "corrupt_image"),
    "zero-size png": (png_declaring(0, 600), 422, "empty_image"),
    "1x50000 strip": (encode(Image.new("L", (1, 50000)), "PNG"), 422, "image_aspect_ratio"),
    "png bomb header": (png_declaring(60000, 60000), 413, "image_too_many_pixels"),
    "jpeg bomb header": (jpeg_declaring(30000, 30000), 413, "image_too_many_pixels"),
    "over max bytes": (b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024), 413, "image_too_large"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_bad_image_upload_gets_a_json_4xx(client: TestClient, case: str) -> None:
    data, status, code = BAD_IMAGES[case]
    response = client.post(
        "/v1/messages",
        data={"conversation_id": "bad-img"},
        files={"image": ("photo.png", data, "image/png")},
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.parametrize("case", ["pdf renamed .png", "truncated png", "png bomb header"])
def test_bad_image_as_base64_json_gets_the_same_error(client: TestClient, case: str) -> None:
    data, status, code = BAD_IMAGES[case]
    part = {"type": "image", "data": base64.b64encode(data).decode(), "filename": "x.png"}
    response = client.post("/v1/messages", json={"conversation_id": "bad-b64", "parts": [part]})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_image_part_without_data_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/messages", json={"conversation_id": "nodata", "parts": [{"type": "image"}]}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "empty_image"
