"""Schemathesis against the OpenAPI spec: valid and invalid requests to every operation never
get a 5xx, and every error is JSON ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from fusiondesk.service.api import create_app
from fusiondesk.service.settings import RateLimits, Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REQUESTS_PER_MODE = 600


@pytest.fixture(scope="module")
def fuzzed(settings: Settings, demo_model_dir: Path) -> Iterator[TestClient]:
    # Rate limits off: every generated request should reach the handlers.
    served = settings.model_copy(
        update={"model_dir": demo_model_dir, "rate_limits": RateLimits(per_ip_per_minute=0)}
    )
    with TestClient(create_app(served), raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield client


def _send(client: TestClient, case: Any) -> Any:
    """Encode the case as schemathesis does (requests' encoders: JSON, forms, multipart,
    cookies), then send those exact bytes to the app."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("timeout", None)
    prepared = requests.Request(**kwargs).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return client.request(
        prepared.method or "GET", prepared.url or "", headers=dict(prepared.headers), content=body
    )


def test_generated_requests_get_no_5xx_and_json_errors(fuzzed: TestClient) -> None:
    schema = schemathesis.openapi.from_dict(fuzzed.get("/openapi.json").json())
    statuses: Counter[int] = Counter()
    succeeded: set[str] = set()  # operations some generated request got a 2xx from
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @settings(
            max_examples=REQUESTS_PER_MODE,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=schema.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            response = _send(fuzzed, case)
            statuses[response.status_code] += 1
            if response.status_code < 300:
                succeeded.add(f"{case.method} {case.path}")
            where = f"{case.method} {case.formatted_path} -> {response.status_code}"
            assert response.status_code < 500, f"{where}: {response.text[:500]}"
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith("application/json"), where
                error = response.json()["error"]
                assert isinstance(error["code"], str) and isinstance(error["message"], str), where

        check()
    print(dict(statuses))
    assert sum(statuses.values()) >= 2 * REQUESTS_PER_MODE - 100 and sum(statuses.values()) >= 1000
    # Valid requests got through, not only errors: most operations act on a conversation a
    # random id does not name (404), but the ones that make or answer messages must succeed.
    assert {"POST /v1/messages", "POST /v1/conversations"} <= succeeded, sorted(succeeded)
    assert len(succeeded) >= 5, sorted(succeeded)
