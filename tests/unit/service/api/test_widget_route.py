"""`GET /widget.js` and the demo shop at `/` (no models needed: the lifespan never runs)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fusiondesk.service.api import create_app
from fusiondesk.service.settings import Settings
from fusiondesk.service.widget.bundle import bundle


def test_widget_script_is_served_with_caching_headers(settings: Settings) -> None:
    client = TestClient(create_app(settings))
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == bundle().encode("utf-8")  # one file, bundled from src/
    assert "max-age=" in response.headers["cache-control"]
    etag = response.headers["etag"]
    again = client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/widget.js", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_demo_shop_embeds_the_widget(settings: Settings) -> None:
    response = TestClient(create_app(settings)).get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script src="/widget.js"' in response.text
