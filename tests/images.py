"""Images made in the tests with Pillow: good ones in every format, and broken ones."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw, ImageFont


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def error_dialog(message: str, *, title: str = "Checkout") -> Image.Image:
    """A desktop-style error dialog: title bar, warning sign, message and an OK button."""
    image = Image.new("RGB", (640, 320), (236, 236, 236))
    draw = ImageDraw.Draw(image)
    title_font = ImageFont.load_default(20)
    body_font = ImageFont.load_default(26)
    draw.rectangle((40, 40, 600, 280), fill="white", outline=(150, 150, 150), width=2)
    draw.rectangle((40, 40, 600, 80), fill=(196, 43, 28))
    draw.text((56, 60), title, font=title_font, fill="white", anchor="lm")
    draw.text((80, 140), message, font=body_font, fill="black")
    draw.rounded_rectangle((480, 220, 580, 260), radius=6, fill=(0, 103, 192))
    draw.text((530, 240), "OK", font=title_font, fill="white", anchor="mm")
    return image


def parcel_photo() -> Image.Image:
    """A textless 'photo': a brown box on a grey floor."""
    image = Image.new("RGB", (480, 360), (120, 120, 118))
    draw = ImageDraw.Draw(image)
    draw.polygon([(120, 120), (300, 90), (380, 150), (200, 190)], fill=(176, 128, 76))
    draw.polygon([(120, 120), (200, 190), (200, 300), (120, 230)], fill=(150, 106, 60))
    draw.polygon([(200, 190), (380, 150), (380, 260), (200, 300)], fill=(130, 92, 52))
    return image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` (a bomb, or a zero size)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG with its frame header patched to claim ``width`` x ``height``."""
    data = bytearray(encode(Image.new("RGB", (16, 16), "red"), "JPEG"))
    frame = data.index(b"\xff\xc0")  # SOF0: marker, length (2), precision (1), height, width
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10"/></svg>'
)
