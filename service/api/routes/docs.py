"""``GET /docs``: Swagger UI served from the ``swagger-ui-bundle`` package, not from a CDN.

FastAPI's own ``/docs`` page loads Swagger UI's script and stylesheet from jsDelivr, so it is
blank on a machine without internet (a laptop on a train, an air-gapped deployment). Here the
page points at ``/docs/assets/...``, answered from the files the package ships. ReDoc is not
served: no installed package ships its script.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)

SWAGGER_UI_DIR = Path(swagger_ui_bundle.swagger_ui_path)
ASSETS_URL = "/docs/assets"
ASSET_MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
"""The only files the page needs; nothing else in the package folder is reachable."""
ASSET_CACHE_CONTROL = "public, max-age=86400"
"""The files change only with the installed package, so browsers may keep them a day."""


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    return get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
    )


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
async def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(ASSETS_URL + "/{name}")
async def swagger_ui_asset(name: str) -> FileResponse:
    media_type = ASSET_MEDIA_TYPES.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail=f"No documentation asset {name!r}.")
    return FileResponse(
        SWAGGER_UI_DIR / name,
        media_type=media_type,
        headers={"Cache-Control": ASSET_CACHE_CONTROL},
    )
