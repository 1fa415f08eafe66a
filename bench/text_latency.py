"""Single-message latency through the HTTP API next to the raw encoder's batch-1 time.

Target (issue 2): p50 through the API <= 1.5x the raw encoder's batch-1 p50.
``--model-dir MODEL`` serves that model instead of the demo; the raw encoder timed is always the
one the served model records (all-MiniLM-L6-v2 or all-mpnet-base-v2).
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import running_server  # noqa: E402
from fusiondesk.plugins.text.encoder import SentenceEncoder  # noqa: E402
from fusiondesk.plugins.text.packaged import packaged_encoder_path  # noqa: E402
from fusiondesk.service.settings import Settings  # noqa: E402
from fusiondesk.service.understanding.fusion.encoders import model_text_encoder  # noqa: E402

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


def time_raw_encoder(model_path: Path) -> list[float]:
    encoder = SentenceEncoder(model_path)
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="Serve this model (default: the demo).")
    args = parser.parse_args()
    settings = Settings()
    env = {"FUSIONDESK_MODEL_DIR": str(args.model_dir)} if args.model_dir else None
    with running_server(env) as base:
        api = time_api(base)
    encoder = model_text_encoder(args.model_dir or settings.resolved_model_dir)
    raw = time_raw_encoder(packaged_encoder_path(encoder, settings.cache_dir / "models"))
    raw_p50, api_p50 = statistics.median(raw), statistics.median(api)
    print(f"text latency ({encoder}), {len(api)} sequential messages of {len(MESSAGES)} kinds")
    print(f"{'path':<34}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'raw encoder, batch 1':<34}{raw_p50:>9.2f}{percentile(raw, 0.95):>9.2f}")
    print(f"{'HTTP API POST /v1/messages':<34}{api_p50:>9.2f}{percentile(api, 0.95):>9.2f}")
    ratio = api_p50 / raw_p50
    verdict = "meets" if ratio <= 1.5 else "misses"
    print(f"ratio API p50 / raw p50: {ratio:.2f}x ({verdict} the <= 1.5x target)")


if __name__ == "__main__":
    main()
