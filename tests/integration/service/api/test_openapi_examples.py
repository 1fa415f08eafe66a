"""Every request example in the OpenAPI document works against the app, and every `$ref`
resolves: the document is something clients and fuzzers can rely on."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fusiondesk.service.api import create_app
from fusiondesk.service.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(settings: Settings, demo_model_dir: Path) -> Iterator[TestClient]:
    """An app of its own: the examples' conversation ids must still be free."""
    app = create_app(settings.model_copy(update={"model_dir": demo_model_dir}))
    with TestClient(app) as test_client:
        deadline = time.monotonic() + 120
        while test_client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield test_client


def _body_examples(operation: dict[str, Any], spec: dict[str, Any]) -> list[tuple[str, Any]]:
    found = []
    for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
        schema = media.get("schema", {})
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        examples = [
            *schema.get("examples", []),
            *([media["example"]] if "example" in media else []),
        ]
        found += [(media_type, example) for example in examples]
    return found


AGENT = "alice"


def _claimed_conversation(client: TestClient) -> str:
    """A conversation whose customer asked for a person, claimed by ``AGENT``."""
    made = client.post("/v1/conversations").json()
    conversation_id = made["conversation_id"]
    asked = client.post(
        "/v1/messages",
        json={
            "conversation_id": conversation_id,
            "parts": [{"type": "text", "text": "Can I speak to a real person please?"}],
        },
        headers={"Authorization": f"Bearer {made['token']}"},
    )
    assert asked.status_code == 200 and asked.json()["handoff"], asked.text
    claimed = client.post(
        f"/v1/agent/conversations/{conversation_id}/claim", headers={"X-Agent-Name": AGENT}
    )
    assert claimed.status_code == 200, claimed.text
    return str(conversation_id)


def test_every_reference_resolves(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    references = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(spec)))
    assert references
    for reference in references:
        assert reference.startswith("#/components/schemas/"), reference
        assert reference.rsplit("/", 1)[-1] in spec["components"]["schemas"], reference


def test_every_request_example_in_the_spec_succeeds(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ran = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for media_type, example in _body_examples(operation, spec):
                headers = {}
                url = path
                if path.startswith("/v1/agent/conversations/{conversation_id}/"):
                    # The agents' examples act on a conversation a person holds.
                    url = path.replace("{conversation_id}", _claimed_conversation(client))
                    headers["X-Agent-Name"] = AGENT
                elif "{conversation_id}" in path:
                    made = client.post("/v1/conversations").json()
                    url = path.replace("{conversation_id}", made["conversation_id"])
                    headers["Authorization"] = f"Bearer {made['token']}"
                assert media_type == "application/json"
                response = client.request(method, url, json=example, headers=headers)
                where = f"{method.upper()} {path} {example}"
                assert response.status_code < 300, f"{where}: {response.text[:300]}"
                ran += 1
    assert ran >= 4  # messages, the SSE message, and both model examples
