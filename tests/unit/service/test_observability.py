from __future__ import annotations

import json
import logging

from fusiondesk.service.observability import JsonFormatter, redact, request_id

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
