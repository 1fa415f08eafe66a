"""The agent inbox page (``GET /agent/``): plain HTML, CSS and JS over the ``/v1/agent`` API."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Response

from fusiondesk.service.errors import RequestRejectedError

router = APIRouter(include_in_schema=False)

INBOX_DIR = Path(__file__).resolve().parents[2] / "widget" / "agent"
_FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "inbox.js": ("inbox.js", "text/javascript; charset=utf-8"),
    "inbox.css": ("inbox.css", "text/css; charset=utf-8"),
}


@cache
def _read(name: str) -> bytes:
    return (INBOX_DIR / name).read_bytes()


@router.get("/agent/{name:path}")
async def inbox(name: str) -> Response:
    found = _FILES.get(name)
    if found is None:
        raise RequestRejectedError(f"No file {name!r} in the inbox.", code="not_found", status=404)
    filename, media_type = found
    return Response(_read(filename), media_type=media_type, headers={"Cache-Control": "no-cache"})
