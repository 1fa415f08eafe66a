"""The chat widget's script (``GET /widget.js``) and the demo shop page that embeds it (``GET /``).

The script is bundled from ``service/widget/src/`` once per process. Its URL is not
fingerprinted (sites embed it once and forget it), so browsers may cache it briefly and then
revalidate cheaply with its ETag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from fusiondesk.service.widget.bundle import bundle

router = APIRouter(tags=["widget"])

WIDGET_DIR = Path(__file__).resolve().parents[2] / "widget"
"""The widget's static files, shipped as package data of ``service``."""
WIDGET_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"


@dataclass(frozen=True)
class Asset:
    body: bytes
    etag: str


@cache
def _widget_script() -> Asset:
    body = bundle().encode("utf-8")
    return Asset(body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


@cache
def _demo_page() -> bytes:
    return (WIDGET_DIR / "demo.html").read_bytes()


@router.get(
    "/widget.js",
    summary="The embeddable chat widget (one script tag)",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/javascript": {"example": "(function () { /* FusionDesk widget */ })();"}
            }
        },
        304: {"description": "Not modified"},
    },
)
async def widget_js(request: Request) -> Response:
    asset = _widget_script()
    headers = {"ETag": asset.etag, "Cache-Control": WIDGET_CACHE_CONTROL}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/", include_in_schema=False, response_class=HTMLResponse)
async def demo_shop() -> HTMLResponse:
    return HTMLResponse(_demo_page(), headers={"Cache-Control": "no-cache"})
