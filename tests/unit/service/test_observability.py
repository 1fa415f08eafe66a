from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import threading
from typing import Any

import pytest

from fusiondesk.service.observability import (
    JsonFormatter,
    configure_logging,
    redact,
    request_id,
)

SECRETS = [
    "GET /v1/conversations/c1/ws?key=sk-live-123&token=tok-456",
    "Authorization: Bearer tok-456",
    "headers {'x-api-key': 'sk-live-123'}",
    "password=hunter2 secret=sk-live-123",
]


def test_redact_masks_keys_tokens_and_passwords() -> None:
    for line in SECRETS:
        masked = redact(line)
        for secret in ("sk-live-123", "tok-456", "hunter2"):
            assert secret not in masked, masked
    assert redact("GET /v1/messages 200") == "GET /v1/messages 200"


def test_json_lines_carry_request_id_fields_and_no_secret() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "%s", (SECRETS[0],), None)
    record.fields = {"status": 200}
    token = request_id.set("req-1")
    try:
        line = JsonFormatter().format(record)
    finally:
        request_id.reset(token)
    entry = json.loads(line)
    assert entry["request_id"] == "req-1" and entry["status"] == 200 and entry["level"] == "info"
    assert "sk-live-123" not in line and "tok-456" not in line


def test_lines_written_off_thread_keep_their_request_id_arguments_and_traceback(
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    kept_handlers, kept_level = root.handlers[:], root.level
    listener = configure_logging("json", off_thread=True)
    assert listener is not None and isinstance(root.handlers[0], logging.handlers.QueueHandler)
    writers: list[str] = []
    original_emit = logging.StreamHandler.emit

    def emit(self: logging.StreamHandler[Any], record: logging.LogRecord) -> None:
        writers.append(threading.current_thread().name)
        original_emit(self, record)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(logging.StreamHandler, "emit", emit)
            token = request_id.set("req-9")
            try:
                logging.getLogger("t").info("sent %s", SECRETS[0], extra={"fields": {"n": 1}})
                try:
                    raise ValueError("boom")
                except ValueError:
                    logging.getLogger("t").exception("failed")
            finally:
                request_id.reset(token)
            listener.stop()  # writes what is queued, as at exit
            atexit.unregister(listener.stop)
    finally:
        root.handlers[:] = kept_handlers
        root.setLevel(kept_level)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()]
    assert [line["message"] for line in lines][-2:] == [redact(f"sent {SECRETS[0]}"), "failed"]
    assert all(line["request_id"] == "req-9" for line in lines[-2:])
    assert lines[-2]["n"] == 1 and "ValueError: boom" in lines[-1]["exception"]
    assert writers and threading.main_thread().name not in writers
