from __future__ import annotations

from typing import Any

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
