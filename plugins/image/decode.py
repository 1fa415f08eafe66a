"""Safe image decoding: sniff the real format, check limits from the header, then decode.

Everything here runs in the API process on untrusted bytes, so the order matters: the format
comes from the magic bytes (never the file name or the declared media type), the byte and pixel
limits are checked on the header before a single pixel is decoded, and only the decoder of the
sniffed format is allowed to run.

Big images are bounded in memory and time too: pixels are reduced to what the plugin needs as
soon as they are decoded (JPEG even while decoding), at most ``LARGE_DECODES`` images over
``LARGE_PIXELS`` decode at once, and the memory they used is handed back to the system after.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import io
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from fusiondesk.plugins.errors import InputTooLargeError, InvalidInputError, UnsupportedInputError

ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "HEIF")
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
BACKGROUND = (255, 255, 255)
"""Transparent pixels (screenshots with alpha) are shown on white, as a viewer would."""
REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA")
"""Modes ``Image.reduce`` takes; others (palette, 16-bit) are converted first."""
LARGE_PIXELS = 4_000_000
"""Above this (a 2560x1600 screen), an image decodes in one of ``LARGE_DECODES`` slots: four
6300x6300 PNGs decoding at once took the API to 3 GB."""
LARGE_DECODES = 2
_large_decodes = threading.BoundedSemaphore(LARGE_DECODES)


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    max_aspect_ratio: float


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB image and what it was before decoding."""

    image: Image.Image
    format: str
    width: int
    height: int


def sniff_format(data: bytes) -> str:
    """The Pillow format name of ``data`` by its magic bytes; refuse anything else (415)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "HEIF"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf"):
        kind = "a PDF document"
    elif head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in head:
        kind = "an SVG drawing"
    else:
        kind = "not a recognised image"
    raise UnsupportedInputError(
        f"The image part is {kind}; send a JPEG, PNG, WebP, GIF or HEIC image.",
        code="unsupported_image_format",
    )


def decode_image(
    data: bytes | None, limits: ImageLimits, *, long_side: int, short_side: int
) -> DecodedImage:
    """Validate and decode ``data`` into an upright RGB image (first frame of an animation).

    The caller needs at most ``long_side`` pixels on the long side or ``short_side`` on the
    short one, whichever keeps more: JPEG then decodes at a reduced scale, so a 24-megapixel
    photo costs a fraction of a full decode.
    """
    if not data:
        raise InvalidInputError("The image part has no data.", code="empty_image")
    if len(data) > limits.max_bytes:
        raise InputTooLargeError(
            f"The image is {len(data)} bytes; the limit is {limits.max_bytes}.",
            code="image_too_large",
        )
    image_format = sniff_format(data)
    if (declared := header_dimensions(data, image_format)) is not None:
        check_dimensions(*declared, limits)
    if image_format == "HEIF":
        _enable_heif()
    try:
        # Image.open reads the header only; pixels are decoded by load() after the checks.
        image = Image.open(io.BytesIO(data), formats=[image_format])
        width, height = image.size
        check_dimensions(width, height, limits)
        scale = min(1.0, max(long_side / max(width, height), short_side / min(width, height)))
        if width * height <= LARGE_PIXELS:
            rgb = _decode_reduced(image, image_format, scale)
        else:
            with _large_decodes:
                try:
                    rgb = _decode_reduced(image, image_format, scale)
                finally:
                    image.close()
                    release_memory()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own guard (its global limit) fires inside open(); report it like ours.
        raise InputTooLargeError(
            f"The image has too many pixels ({error}).", code="image_too_many_pixels"
        ) from error
    except (InputTooLargeError, InvalidInputError):
        raise
    except UnidentifiedImageError as error:
        raise InvalidInputError(
            f"The data starts like a {image_format} image but is not a valid one.",
            code="corrupt_image",
        ) from error
    except Exception as error:
        # Decoders signal malformed input with many types (OSError for truncation,
        # SyntaxError, ValueError, struct.error, EOFError...): all mean a broken file.
        raise InvalidInputError(
            f"The {image_format} image is corrupt or truncated ({error}).",
            code="corrupt_image",
        ) from error
    return DecodedImage(rgb, image_format, width, height)


def _decode_reduced(image: Image.Image, image_format: str, scale: float) -> Image.Image:
    """The upright RGB pixels at about ``scale`` (never below it): JPEG decodes reduced; other
    formats decode whole and are at once reduced by a whole factor (a box filter, fast), so
    that conversions and resizes work on the small image, never on a full-size copy."""
    width, height = image.size
    if image_format == "JPEG":
        image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
    image.load()
    reduced = image
    if (factor := int(1 / scale)) >= 2 and image.size == (width, height):
        full = image if image.mode in REDUCIBLE_MODES else to_rgb(image)
        reduced = full.reduce(factor)
        reduced.info = dict(image.info)  # keeps the EXIF orientation
        image.close()  # the full-size pixels go now, not when the caller's reference does
        full.close()
    upright = ImageOps.exif_transpose(reduced)
    return to_rgb(upright if upright is not None else reduced)


def release_memory() -> None:
    """Hand freed heap pages back to the system: glibc keeps them for reuse otherwise, and a
    burst of big images left the API holding 2.6 GB it no longer used."""
    if (trim := _malloc_trim()) is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; None elsewhere (musl, macOS), where there is nothing to call."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


def header_dimensions(data: bytes, image_format: str) -> tuple[int, int] | None:
    """Width and height as a PNG or GIF header declares them.

    Pillow refuses a zero-sized image as merely "unidentified"; reading the header first lets
    the customer hear the real reason.
    """
    if image_format == "PNG" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if image_format == "GIF" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    return None


def check_dimensions(width: int, height: int, limits: ImageLimits) -> None:
    if width < 1 or height < 1:
        raise InvalidInputError(
            f"The image is {width}x{height} pixels: it is empty.", code="empty_image"
        )
    if width * height > limits.max_pixels:
        raise InputTooLargeError(
            f"The image is {width}x{height} = {width * height} pixels; the limit is "
            f"{limits.max_pixels}.",
            code="image_too_many_pixels",
        )
    ratio = max(width, height) / min(width, height)
    if ratio > limits.max_aspect_ratio:
        raise InvalidInputError(
            f"The image is {width}x{height} pixels, an aspect ratio of {ratio:.0f}:1; "
            f"at most {limits.max_aspect_ratio:g}:1 is accepted.",
            code="image_aspect_ratio",
        )


def to_rgb(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, BACKGROUND)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


@functools.cache
def _enable_heif() -> None:
    try:
        import pillow_heif
    except ImportError as error:
        raise UnsupportedInputError(
            "HEIC images need the pillow-heif package (pip install 'fusiondesk[image]').",
            code="unsupported_image_format",
        ) from error
    pillow_heif.register_heif_opener()
