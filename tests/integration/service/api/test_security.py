"""A real API process with auth on: keys, scopes, conversation tokens, rate limits, body
limits, CORS and logs without secrets."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fusiondesk.service.api.security import sha256_hex
from tests.integration.servers import ApiProcess, running_api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEYS = {  # name: (key, scopes, public)
    "agent": ("chat-key-4f2b", ["chat"], False),
    "ops": ("admin-key-9c1d", ["chat", "admin"], False),
    "widget": ("widget-key-77aa", ["chat"], True),
    "limited": ("limited-key-0e3f", ["chat"], False),
}
LIMIT = 10
BODY_LIMIT = 1024 * 1024
SHOP = "https://shop.example"


@pytest.fixture(scope="module")
def api(demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    api_keys = [
        {"name": name, "sha256": sha256_hex(key), "scopes": scopes, "public": public}
        for name, (key, scopes, public) in KEYS.items()
    ]
    log = tmp_path_factory.mktemp("secure-api") / "api.log"
    with running_api(
        demo_model_dir,
        log,
        FUSIONDESK_AUTH__REQUIRED="true",
        FUSIONDESK_AUTH__API_KEYS=json.dumps(api_keys),
        FUSIONDESK_RATE_LIMITS__PER_KEY_PER_MINUTE=str(LIMIT),
        FUSIONDESK_RATE_LIMITS__PER_IP_PER_MINUTE="1000",
        FUSIONDESK_LIMITS__MAX_BODY_BYTES=str(BODY_LIMIT),
        FUSIONDESK_CORS_ORIGINS=json.dumps([SHOP]),
    ) as process:
        yield process


def _headers(name: str | None = None, token: str | None = None) -> dict[str, str]:
    headers = {"X-API-Key": KEYS[name][0]} if name else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _message(conversation_id: str = "sec-1") -> dict[str, Any]:
    return {"conversation_id": conversation_id, "parts": [{"type": "text", "text": "refund"}]}


def _error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_no_key_is_401_and_an_unknown_key_too(api: ApiProcess) -> None:
    _error(httpx.post(f"{api.url}/v1/messages", json=_message()), 401, "unauthorized")
    _error(httpx.post(f"{api.url}/v1/conversations"), 401, "unauthorized")
    response = httpx.post(f"{api.url}/v1/conversations", headers={"X-API-Key": "guess"})
    _error(response, 401, "unauthorized")
    assert httpx.get(f"{api.url}/healthz").status_code == 200  # probes stay open


def test_chat_key_on_admin_routes_is_403(api: ApiProcess) -> None:
    spec = httpx.get(f"{api.url}/openapi.json").json()
    admin_routes = [
        (method, path)
        for path, operations in spec["paths"].items()
        if path.startswith("/v1/admin")
        for method in operations
    ]
    assert admin_routes
    for method, path in admin_routes:
        url = f"{api.url}{path}"
        _error(httpx.request(method, url, headers=_headers("agent")), 403, "forbidden")
        _error(httpx.request(method, url), 401, "unauthorized")
    security = httpx.get(f"{api.url}/v1/admin/security", headers=_headers("ops"))
    assert security.status_code == 200
    assert {k["name"] for k in security.json()["keys"]} == set(KEYS)
    assert "sha256" not in security.text


def test_another_clients_conversation_is_404(api: ApiProcess) -> None:
    mine = httpx.post(f"{api.url}/v1/conversations", headers=_headers("widget")).json()
    theirs = httpx.post(f"{api.url}/v1/conversations", headers=_headers("widget")).json()
    assert mine["conversation_id"] != theirs["conversation_id"]
    assert len(mine["conversation_id"]) >= 20 and len(mine["token"]) >= 40
    url = f"{api.url}/v1/conversations/{theirs['conversation_id']}"
    _error(httpx.get(url, headers=_headers("widget", mine["token"])), 404, "not_found")
    _error(httpx.get(url, headers=_headers("widget")), 404, "not_found")
    _error(httpx.get(url, headers=_headers("agent")), 404, "not_found")
    assert httpx.get(url, headers=_headers("widget", theirs["token"])).status_code == 200
    assert httpx.get(url, headers=_headers("ops")).status_code == 200  # admins read any
    # The widget key cannot chat on an id it did not create, even a fresh one.
    response = httpx.post(
        f"{api.url}/v1/messages",
        json=_message(theirs["conversation_id"]),
        headers=_headers("widget", mine["token"]),
    )
    _error(response, 404, "not_found")
    response = httpx.post(
        f"{api.url}/v1/messages", json=_message("made-up-id"), headers=_headers("widget")
    )
    _error(response, 404, "not_found")


def test_eleventh_request_in_a_minute_is_429_with_retry_after(api: ApiProcess) -> None:
    for _ in range(LIMIT):
        response = httpx.post(f"{api.url}/v1/conversations", headers=_headers("limited"))
        assert response.status_code == 201
    refused = httpx.post(f"{api.url}/v1/conversations", headers=_headers("limited"))
    _error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Other keys have their own budget.
    assert httpx.post(f"{api.url}/v1/conversations", headers=_headers("agent")).status_code == 201


def test_fifty_megabyte_body_is_refused_without_reading_it(api: ApiProcess) -> None:
    """Streams 50 MB (chunked, no Content-Length) while reading the answer in parallel: the
    413 comes back after about the limit, the server hangs up, and its memory stays flat."""
    total, chunk = 50 * 1024 * 1024, b"x" * 65536
    rss_before = api.rss_bytes()
    host, port = api.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=30)
    answer = bytearray()

    def read() -> None:
        try:
            while data := connection.recv(65536):
                answer.extend(data)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    reader.start()
    connection.sendall(
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + KEYS["agent"][0].encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    sent = 0
    try:
        while sent < total and b"\r\n\r\n" not in answer:
            connection.sendall(b"10000\r\n" + chunk + b"\r\n")
            sent += len(chunk)
    except OSError:
        pass  # the server closed the connection: what we want
    reader.join(timeout=30)
    connection.close()
    head, _, body = bytes(answer).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(body.split(b"\r\n")[1] if b"chunked" in head else body)["error"]["code"] == (
        "body_too_large"
    )
    assert sent < total / 2, f"the client got to send {sent} bytes"
    assert api.rss_bytes() - rss_before < 16 * 1024 * 1024


def test_cors_refuses_an_unlisted_origin(api: ApiProcess) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key",
    }
    refused = httpx.options(
        f"{api.url}/v1/conversations", headers={"Origin": "https://evil.example", **preflight}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    allowed = httpx.options(f"{api.url}/v1/conversations", headers={"Origin": SHOP, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SHOP
    simple = httpx.get(f"{api.url}/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_logs_are_json_with_request_ids_and_no_secrets(api: ApiProcess) -> None:
    created = httpx.post(f"{api.url}/v1/conversations", headers=_headers("ops")).json()
    url = f"{api.url}/v1/conversations/{created['conversation_id']}"
    response = httpx.get(
        url,
        params={"key": KEYS["ops"][0], "token": created["token"]},
        headers={"X-Request-ID": "trace-me-1"},
    )
    assert response.status_code == 200 and response.headers["x-request-id"] == "trace-me-1"
    httpx.get(f"{api.url}/metrics")  # let the log catch up with another request
    lines = [json.loads(line) for line in api.log.read_text().splitlines() if line.startswith("{")]
    assert any(
        entry.get("request_id") == "trace-me-1" and entry.get("status") == 200 for entry in lines
    )
    text = api.log.read_text()
    for name, (key, _, _) in KEYS.items():
        assert key not in text, f"the {name} key leaked into the log"
    assert created["token"] not in text


def test_metrics_count_requests_and_messages(api: ApiProcess) -> None:
    assert httpx.post(f"{api.url}/v1/conversations", headers=_headers("ops")).status_code == 201
    metrics = httpx.get(f"{api.url}/metrics").text
    request = 'fusiondesk_http_requests_total{method="POST",route="/v1/conversations",status="201"}'
    assert request in metrics
    assert 'fusiondesk_http_request_duration_seconds_bucket{le="0.005",method="POST"' in metrics
    for name in ("messages", "intents", "out_of_scope", "handoffs", "rate_limited"):
        assert f"# TYPE fusiondesk_{name}_total counter" in metrics
