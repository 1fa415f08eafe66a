"""Issue 19's attacks, replayed against real `fusiondesk serve` processes under the default
settings (auth off on loopback, as `make run` gives; auth on with keys, as compose gives):
each one reproduced, each one refused."""

from __future__ import annotations

import json
import secrets
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from fusiondesk.service.api.security import sha256_hex
from tests.integration.servers import ApiProcess, running_api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN_KEY, CHAT_KEY, OTHER_KEY = "ops-4be1c7", "agent-77d0aa", "other-1f9e03"
KEYS = [
    {"name": "ops", "sha256": sha256_hex(ADMIN_KEY), "scopes": ["chat", "admin"]},
    {"name": "agent", "sha256": sha256_hex(CHAT_KEY), "scopes": ["chat"]},
    {"name": "other", "sha256": sha256_hex(OTHER_KEY), "scopes": ["chat"]},
]


def _message(conversation_id: str, text: str = "where is my parcel") -> dict[str, object]:
    return {"conversation_id": conversation_id, "parts": [{"type": "text", "text": text}]}


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


@pytest.fixture(scope="module")
def open_api(
    demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    """The defaults: loopback, auth off."""
    log = tmp_path_factory.mktemp("attacks-open") / "api.log"
    with running_api(demo_model_dir, log) as process:
        yield process


@pytest.fixture(scope="module")
def locked_api(
    demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    """Auth on with keys, as compose runs it."""
    log = tmp_path_factory.mktemp("attacks-locked") / "api.log"
    with running_api(
        demo_model_dir,
        log,
        FUSIONDESK_AUTH__REQUIRED="true",
        FUSIONDESK_AUTH__API_KEYS=json.dumps(KEYS),
    ) as process:
        yield process


def test_anonymous_model_swap_is_refused(
    open_api: ApiProcess, locked_api: ApiProcess, demo_model_dir: Path, tmp_path: Path
) -> None:
    # The attacker's copy of the demo model, its replies edited, outside the models root.
    evil = tmp_path / "evil"
    shutil.copytree(demo_model_dir, evil)
    response = httpx.post(f"{locked_api.url}/v1/admin/model", json={"path": str(evil)})
    assert response.status_code == 401
    response = httpx.post(f"{open_api.url}/v1/admin/model", json={"path": str(evil)})
    assert (response.status_code, _code(response)) == (422, "outside_models_root")
    # A symlink inside the root that leads out of it is outside too.
    link = demo_model_dir.parent / f"link-{secrets.token_hex(4)}"
    link.symlink_to(evil, target_is_directory=True)
    try:
        response = httpx.post(f"{open_api.url}/v1/admin/model", json={"path": link.name})
        assert (response.status_code, _code(response)) == (422, "outside_models_root")
    finally:
        link.unlink()
    reply = httpx.post(f"{open_api.url}/v1/messages", json=_message("swap-check")).json()
    assert reply["intent"] == "order_status"  # still the real model


def test_model_errors_never_quote_the_files_read(
    open_api: ApiProcess, demo_model_dir: Path
) -> None:
    broken = demo_model_dir.parent / f"broken-{secrets.token_hex(4)}"
    shutil.copytree(demo_model_dir, broken)
    (broken / "config.json").write_text('{"strategy": SECRET-LINE-4242 root:x:0:0}')
    try:
        response = httpx.post(f"{open_api.url}/v1/admin/model", json={"path": broken.name})
    finally:
        shutil.rmtree(broken)
    assert response.status_code == 422
    assert "SECRET" not in response.text and "root:x" not in response.text


def test_a_conversation_cannot_be_read_or_claimed_by_id(open_api: ApiProcess) -> None:
    victim = f"victim-{secrets.token_hex(4)}"
    first = httpx.post(f"{open_api.url}/v1/messages", json=_message(victim))
    token = first.json()["token"]
    assert first.status_code == 200 and len(token) >= 40
    history = f"{open_api.url}/v1/conversations/{victim}"
    assert httpx.get(history).status_code == 404  # before: 200 with the history
    claimed = httpx.post(f"{open_api.url}/v1/messages", json=_message(victim, "refund"))
    assert claimed.status_code == 404
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(history, headers=bearer).status_code == 200
    second = httpx.post(f"{open_api.url}/v1/messages", json=_message(victim), headers=bearer)
    assert second.status_code == 200 and second.json()["token"] is None


def test_another_key_cannot_squat_a_conversation(locked_api: ApiProcess) -> None:
    conversation = f"squat-{secrets.token_hex(4)}"
    url = f"{locked_api.url}/v1/messages"
    made = httpx.post(url, json=_message(conversation), headers={"X-API-Key": CHAT_KEY})
    assert made.status_code == 200
    squat = httpx.post(url, json=_message(conversation), headers={"X-API-Key": OTHER_KEY})
    assert squat.status_code == 404
    history = f"{locked_api.url}/v1/conversations/{conversation}"
    assert httpx.get(history, headers={"X-API-Key": OTHER_KEY}).status_code == 404
    # The key that made it still reads it without the token; so does an admin key.
    assert httpx.get(history, headers={"X-API-Key": CHAT_KEY}).status_code == 200
    assert httpx.get(history, headers={"X-API-Key": ADMIN_KEY}).status_code == 200


def test_percent_encoded_key_and_token_never_reach_the_log(locked_api: ApiProcess) -> None:
    made = httpx.post(f"{locked_api.url}/v1/conversations", headers={"X-API-Key": CHAT_KEY})
    conversation, token = made.json()["conversation_id"], made.json()["token"]
    ws_url = locked_api.url.replace("http", "ws")
    with connect(
        f"{ws_url}/v1/conversations/{conversation}/ws?t%6Fken={token}&k%65y={CHAT_KEY}"
    ) as ws:
        assert json.loads(ws.recv(timeout=10))["event"] == "history"  # accepted: both decoded
    log = locked_api.log.read_text()
    assert "t%6Fken=" in log or "token=***" in log  # the handshake was logged...
    assert token not in log and CHAT_KEY not in log  # ...masked


def test_dns_rebinding_and_foreign_origins_are_refused(open_api: ApiProcess) -> None:
    port = open_api.url.rsplit(":", 1)[1]
    made = httpx.post(f"{open_api.url}/v1/conversations").json()
    path = f"/v1/conversations/{made['conversation_id']}/ws?token={made['token']}"
    ws_url = open_api.url.replace("http", "ws") + path
    rebinding = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, additional_headers=rebinding).close()
    assert refused.value.response.status_code == 400  # before: 101
    response = httpx.get(f"{open_api.url}/healthz", headers={"Host": "evil.example"})
    assert (response.status_code, _code(response)) == (400, "invalid_host")
    with pytest.raises(InvalidStatus) as wrong_scheme:
        connect(ws_url, origin=f"https://127.0.0.1:{port}").close()  # type: ignore[arg-type]
    assert wrong_scheme.value.response.status_code == 403
    with connect(ws_url, origin=f"http://127.0.0.1:{port}") as ws:  # type: ignore[arg-type]
        assert json.loads(ws.recv(timeout=10))["event"] == "history"


def test_cross_origin_form_posts_are_refused(open_api: ApiProcess) -> None:
    conversation = f"csrf-{secrets.token_hex(4)}"
    form = {"conversation_id": conversation, "text": "cancel my order"}
    evil = {"Origin": "https://evil.example"}
    for sent in (
        httpx.post(f"{open_api.url}/v1/messages", data=form, headers=evil),
        httpx.post(f"{open_api.url}/v1/messages", files={"x": ("", b"")}, data=form, headers=evil),
    ):
        assert (sent.status_code, _code(sent)) == (403, "origin_not_allowed")
    # Nothing happened: the id is still free (this post makes it and gets its token).
    made = httpx.post(f"{open_api.url}/v1/messages", data=form)
    assert made.status_code == 200 and made.json()["token"]


def test_zero_width_text_and_broken_utf8_fields_are_refused(open_api: ApiProcess) -> None:
    zero_width = httpx.post(
        f"{open_api.url}/v1/messages", json=_message("zw", "\u200b\u200b\ufeff")
    )
    assert (zero_width.status_code, _code(zero_width)) == (422, "empty_text")
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="conversation_id"\r\n\r\nutf\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n'
        ).encode()
        + b"caf\xe9 \xff\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    broken = httpx.post(
        f"{open_api.url}/v1/messages",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert (broken.status_code, _code(broken)) == (400, "invalid_multipart")


def test_forwarded_for_is_not_trusted_by_default(open_api: ApiProcess) -> None:
    with httpx.Client(base_url=open_api.url) as client:  # one connection: 310 quick requests
        statuses = Counter(
            client.get(
                "/v1/admin/security", headers={"X-Forwarded-For": f"10.0.{i // 250}.{i % 250}"}
            ).status_code
            for i in range(310)
        )
    # The default per-IP limit (300 a minute, earlier tests' requests included) holds:
    # rotating the header changes nothing. (Last of the open server's tests: it uses the IP up.)
    assert statuses[200] <= 300 and statuses[429] >= 10 and set(statuses) == {200, 429}


def test_guessing_keys_is_slowed_down_counted_and_logged(locked_api: ApiProcess) -> None:
    guesses = [secrets.token_urlsafe(32) for _ in range(100)]
    answers = [
        httpx.get(f"{locked_api.url}/v1/admin/security", headers={"X-API-Key": guess})
        for guess in guesses
    ]
    statuses = Counter(answer.status_code for answer in answers)
    # Before: 100 × 401. Now 5 free failures, then waits of 1 s, 2 s, 4 s ...: a slow
    # machine may get a guess or two in as a wait ends, never more.
    assert statuses[401] <= 9 and statuses[429] >= 91 and set(statuses) == {401, 429}
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)
    metrics = httpx.get(f"{locked_api.url}/metrics").text
    assert f'fusiondesk_auth_failures_total{{outcome="unknown_key"}} {statuses[401]}.0' in metrics
    refused = f'fusiondesk_auth_failures_total{{outcome="refused_waiting"}} {statuses[429]}.0'
    assert refused in metrics
    log = locked_api.log.read_text()
    assert f"failed authentication from 127.0.0.1 (unknown_key): failure {statuses[401]}" in log
    assert not any(guess in log for guess in guesses)
