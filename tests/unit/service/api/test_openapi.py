from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from fusiondesk.service.api import create_app
from fusiondesk.service.settings import Settings


def _has_example(content: dict[str, Any], components: dict[str, Any]) -> bool:
    for media in content.values():
        if "example" in media or "examples" in media:
            return True
        reference = media.get("schema", {}).get("$ref", "")
        schema = components.get(reference.rsplit("/", 1)[-1], media.get("schema", {}))
        if "examples" in schema or "example" in schema:
            return True
    return False


def test_every_operation_documents_examples_for_bodies_and_answers() -> None:
    spec = create_app(Settings()).openapi()
    components = spec["components"]["schemas"]
    operations = [
        (method, path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 8
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        if "requestBody" in operation:
            assert _has_example(operation["requestBody"]["content"], components), where
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):  # our handlers answer ErrorOut, not FastAPI's
                assert "ErrorOut" in str(response), f"{where} {status}"
            if "content" in response:
                assert _has_example(response["content"], components), f"{where} {status}"


def test_docs_page_loads_swagger_ui_from_the_app_not_a_cdn() -> None:
    client = TestClient(create_app(Settings()))
    page = client.get("/docs")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    assert re.findall(r"https?://", page.text) == []  # every URL is relative to the app
    assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page.text)
    expected_types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    assert sorted(Path(url).suffix for url in assets) == [".css", ".js", ".png"]
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(expected_types[Path(url).suffix]), url
        assert len(asset.content) > 0
    assert "'/openapi.json'" in page.text
    assert client.get("/openapi.json").status_code == 200


def test_docs_assets_serve_only_what_the_page_needs() -> None:
    client = TestClient(create_app(Settings()))
    for name in ("index.html", "..%2F__init__.py", "swagger-ui.js.map"):
        response = client.get(f"/docs/assets/{name}")
        assert response.status_code == 404, name
        assert response.json()["error"]["code"]
    assert client.get("/redoc").status_code == 404
