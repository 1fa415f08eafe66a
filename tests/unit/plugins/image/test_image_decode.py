from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
from PIL import Image

from fusiondesk.plugins import (
    InputError,
    InputTooLargeError,
    InvalidInputError,
    Part,
    UnsupportedInputError,
)
from fusiondesk.plugins.image import ImageConfig, ImagePlugin, decode
from fusiondesk.plugins.image.decode import ImageLimits, decode_image, sniff_format
from fusiondesk.plugins.image.ocr import within_length
from fusiondesk.plugins.image.visual import CROP_SIZE
from tests.images import PDF, SVG, encode, jpeg_declaring, png_declaring

LIMITS = ImageLimits(max_bytes=1 << 20, max_pixels=4_000_000, max_aspect_ratio=20.0)


def _decode(data: bytes) -> Image.Image:
    return decode_image(data, LIMITS, long_side=1280, short_side=256).image


@pytest.mark.parametrize(
    ("image_format", "options"),
    [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"lossless": True}), ("GIF", {})],
)
def test_common_formats_decode_to_rgb(image_format: str, options: dict[str, object]) -> None:
    original = Image.new("RGB", (64, 48), (200, 30, 30))
    decoded = decode_image(
        encode(original, image_format, **options), LIMITS, long_side=64, short_side=64
    )
    assert (decoded.format, decoded.width, decoded.height) == (image_format, 64, 48)
    assert decoded.image.mode == "RGB" and decoded.image.size == (64, 48)
    red, green, blue = decoded.image.getpixel((32, 24))  # type: ignore[misc]
    assert red > 150 and green < 80 and blue < 80


def test_heic_decodes_when_pillow_heif_is_installed() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    data = encode(Image.new("RGB", (64, 48), (30, 30, 200)), "HEIF")
    decoded = decode_image(data, LIMITS, long_side=64, short_side=64)
    assert decoded.format == "HEIF" and decoded.image.size == (64, 48)


def test_exif_orientation_is_applied() -> None:
    # Stored landscape, left half red; orientation 6 means "rotate 90° clockwise to view".
    stored = Image.new("RGB", (80, 40), "blue")
    stored.paste((255, 0, 0), (0, 0, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    upright = _decode(encode(stored, "JPEG", exif=exif, quality=95))
    assert upright.size == (40, 80)
    top = np.asarray(upright)[:20].mean(axis=(0, 1))
    assert top[0] > 150 and top[2] < 100  # the red half is now on top


def test_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    red, _, blue = _decode(buffer.getvalue()).getpixel((16, 16))  # type: ignore[misc]
    assert red > 200 and blue < 50


def test_transparency_is_shown_on_white() -> None:
    clear = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    assert _decode(encode(clear, "PNG")).getpixel((10, 10)) == (255, 255, 255)


def test_format_comes_from_the_bytes_not_the_name() -> None:
    assert sniff_format(encode(Image.new("RGB", (4, 4)), "PNG")) == "PNG"
    with pytest.raises(UnsupportedInputError, match="PDF"):
        sniff_format(PDF)
    with pytest.raises(UnsupportedInputError, match="SVG"):
        sniff_format(b"\xef\xbb\xbf  " + SVG)


BAD_IMAGES: dict[str, tuple[bytes, type[InputError], str]] = {
    "empty bytes": (b"", InvalidInputError, "empty_image"),
    "plain text": (
        b"hello, this is not a picture",
        UnsupportedInputError,
        "unsupported_image_format",
    ),
    "pdf": (PDF, UnsupportedInputError, "unsupported_image_format"),
    "svg": (SVG, UnsupportedInputError, "unsupported_image_format"),
    "truncated png": (
        encode(Image.effect_noise((200, 200), 60), "PNG")[:3000],
        InvalidInputError,
        "corrupt_image",
    ),
    "truncated jpeg": (
        encode(Image.effect_noise((200, 200), 60).convert("RGB"), "JPEG")[:4000],
        InvalidInputError,
        "corrupt_image",
    ),
    "png signature then garbage": (
        b"\x89PNG\r\n\x1a\n" + bytes(64),
        InvalidInputError,
        "corrupt_image",
    ),
    "zero width": (png_declaring(0, 10), InvalidInputError, "empty_image"),
    "1x5000 strip": (
        encode(Image.new("L", (1, 5000)), "PNG"),
        InvalidInputError,
        "image_aspect_ratio",
    ),
    "png over the pixel limit": (
        png_declaring(3000, 3000),
        InputTooLargeError,
        "image_too_many_pixels",
    ),
    "jpeg decompression bomb": (
        jpeg_declaring(30000, 30000),
        InputTooLargeError,
        "image_too_many_pixels",
    ),
    "over the byte limit": (
        b"\xff\xd8\xff" + bytes(1 << 20),
        InputTooLargeError,
        "image_too_large",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_bad_images_are_refused_with_a_reason(case: str) -> None:
    data, error_type, code = BAD_IMAGES[case]
    with pytest.raises(error_type) as raised:
        decode_image(data, LIMITS, long_side=1280, short_side=256)
    assert raised.value.code == code and raised.value.message


def test_preprocess_makes_a_small_serialisable_payload() -> None:
    plugin = ImagePlugin(ImageConfig(ocr_max_side=320))
    photo = Image.effect_noise((2000, 1000), 40).convert("RGB")
    payload = plugin.preprocess(Part("image", data=encode(photo, "JPEG"), filename="x.png"))
    assert len(payload["crop"]) == CROP_SIZE * CROP_SIZE * 3
    assert Image.open(io.BytesIO(payload["page"])).size == (320, 160)
    assert (payload["format"], payload["width"], payload["height"]) == ("JPEG", 2000, 1000)


def test_large_jpeg_decodes_at_a_reduced_scale_keeping_what_is_needed() -> None:
    photo = encode(Image.new("RGB", (4000, 1000), "green"), "JPEG")
    decoded = decode_image(photo, LIMITS, long_side=0, short_side=256)
    assert (decoded.width, decoded.height) == (4000, 1000)  # as the customer sent it
    assert min(decoded.image.size) >= 256 and decoded.image.width < 4000


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P"])
def test_large_png_is_reduced_right_after_decoding(mode: str) -> None:
    # Stored landscape with EXIF orientation 6: the reduced image must still come out upright.
    stored = Image.new("RGB", (3000, 1000), "blue")
    stored.paste((255, 0, 0), (0, 0, 1000, 1000))
    exif = Image.Exif()
    exif[0x0112] = 6
    source = stored.convert(mode) if mode != "P" else stored.quantize(4)
    decoded = decode_image(
        encode(source, "PNG", exif=exif), LIMITS, long_side=1280 // 3, short_side=224
    )
    assert (decoded.width, decoded.height) == (3000, 1000)  # as the customer sent it
    width, height = decoded.image.size
    assert decoded.image.mode == "RGB" and width < height  # upright
    assert 1280 // 3 <= height < 3000 and width >= 224  # reduced, never below what is needed
    top = np.asarray(decoded.image)[:20].mean(axis=(0, 1))
    assert top[0] > 150 and top[2] < 100  # the red third is on top


def test_large_images_decode_two_at_a_time_and_give_memory_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running, most, lock = [0], [0], threading.Lock()
    real = decode._decode_reduced

    def counted(*args: object) -> Image.Image:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.1)
        try:
            return real(*args)  # type: ignore[arg-type]
        finally:
            with lock:
                running[0] -= 1

    trims: list[int] = []
    monkeypatch.setattr(decode, "_decode_reduced", counted)
    monkeypatch.setattr(decode, "release_memory", lambda: trims.append(1))
    big = encode(Image.new("RGB", (2100, 2000), "white"), "PNG")  # over LARGE_PIXELS
    limits = ImageLimits(max_bytes=1 << 20, max_pixels=40_000_000, max_aspect_ratio=20.0)

    def work() -> None:
        decode_image(big, limits, long_side=1280, short_side=256)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == decode.LARGE_DECODES and len(trims) == 4


def test_ocr_reads_lines_within_a_length_budget() -> None:
    lines = [np.zeros((20, 400, 3)), np.zeros((20, 400, 3)), np.zeros((10, 300, 3))]
    assert len(within_length(lines, 45)) == 2  # 20 + 20 line heights, then 30 more is over
    assert len(within_length(lines, 100)) == 3
    assert len(within_length(lines, 1)) == 1  # the first line is always read


def test_preprocess_without_ocr_ships_no_page() -> None:
    plugin = ImagePlugin(ImageConfig(ocr_enabled=False))
    payload = plugin.preprocess(Part("image", data=encode(Image.new("RGB", (300, 300)), "PNG")))
    assert payload["page"] is None


def test_preprocess_refuses_a_part_without_data() -> None:
    with pytest.raises(InvalidInputError):
        ImagePlugin().preprocess(Part("image", text="a picture of my parcel"))
