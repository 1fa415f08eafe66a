"""Kept media (a customer's audio or image, an agent's file) as an HTTP answer, shared by the
agents' and the customer's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from fusiondesk.service.ids import ID_PATTERN, MAX_ID_CHARS

MediaKey = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS + 8, pattern=ID_PATTERN)]
INLINE_TYPES = ("image/", "audio/")


def media_response(media_type: str, data: bytes) -> Response:
    # Images and audio are shown in the page; anything else (a PDF) is downloaded, and the
    # browser must not guess another type than the one read from the bytes.
    disposition = "inline" if media_type.startswith(INLINE_TYPES) else "attachment"
    headers = {
        "Cache-Control": "private, max-age=3600",
        "Content-Disposition": disposition,
        "X-Content-Type-Options": "nosniff",
    }
    return Response(data, media_type=media_type, headers=headers)
