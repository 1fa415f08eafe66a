"""Single-message latency through the HTTP API next to the raw encoder's batch-1 time.

Target (issue 2): p50 through the API <= 1.5x the raw encoder's batch-1 p50.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import running_server  # noqa: E402
from fusiondesk.plugins.text.encoder import SentenceEncoder, packaged_minilm_path  # noqa: E402

MESSAGES = [
    "where is my parcel",
    "my parcel arrived broken",
    "I want to cancel my order please",
    "the payment keeps failing at checkout with error 504",
    "can I change the delivery address for order #48213",
    "I can't log in to my account, the reset email never came",
    "hello",
    "I'd like a refund for the shoes I sent back two weeks ago",
]
ROUNDS = 25


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_raw_encoder() -> list[float]:
    encoder = SentenceEncoder(packaged_minilm_path())
    for text in MESSAGES:
        encoder.encode([text])
    timings = []
    for _ in range(ROUNDS):
        for text in MESSAGES:
            started = time.perf_counter()
            encoder.encode([text])
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def time_api(base: str) -> list[float]:
    """Client-side latency over one keep-alive connection. The standard library's client adds
    far less time of its own than httpx (~2 ms per call), so the figure is the server's."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port)
    token = None  # the conversation's, returned by its first message
    for text in MESSAGES:  # warm-up
        token = _post(connection, text, token)
    timings = []
    for _ in range(ROUNDS):
        for text in MESSAGES:
            started = time.perf_counter()
            _post(connection, text, token)
            timings.append((time.perf_counter() - started) * 1000)
    connection.close()
    return timings


def _post(connection: http.client.HTTPConnection, text: str, token: str | None) -> str | None:
    """Sends one message; the conversation's token (new when this message made it)."""
    body = json.dumps({"conversation_id": "bench", "parts": [{"type": "text", "text": text}]})
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    connection.request("POST", "/v1/messages", body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {payload[:200]!r}")
    new_token: str | None = json.loads(payload).get("token")
    return new_token or token


def main() -> None:
    with running_server() as base:
        api = time_api(base)
    raw = time_raw_encoder()
    raw_p50, api_p50 = statistics.median(raw), statistics.median(api)
    print(f"text latency, {len(api)} sequential messages of {len(MESSAGES)} kinds")
    print(f"{'path':<34}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'raw encoder, batch 1':<34}{raw_p50:>9.2f}{percentile(raw, 0.95):>9.2f}")
    print(f"{'HTTP API POST /v1/messages':<34}{api_p50:>9.2f}{percentile(api, 0.95):>9.2f}")
    ratio = api_p50 / raw_p50
    verdict = "meets" if ratio <= 1.5 else "misses"
    print(f"ratio API p50 / raw p50: {ratio:.2f}x ({verdict} the <= 1.5x target)")


if __name__ == "__main__":
    main()
