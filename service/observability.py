"""Prometheus metrics (the default registry, so every part of fusiondesk adds to one
``/metrics``) and structured JSON logs that carry the request id and never a secret."""

from __future__ import annotations

import atexit
import contextvars
import json
import logging
import logging.handlers
import queue
import re
import time
from typing import Any, Literal
from urllib.parse import unquote

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "fusiondesk_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "fusiondesk_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MESSAGES = Counter(
    "fusiondesk_messages_total", "Customer messages handled, by channel.", ["channel"]
)
INTENTS = Counter("fusiondesk_intents_total", "Predicted intents of handled messages.", ["intent"])
OUT_OF_SCOPE = Counter(
    "fusiondesk_out_of_scope_total",
    "Messages below the confidence threshold (rate: divide by fusiondesk_messages_total).",
)
HANDOFFS = Counter("fusiondesk_handoffs_total", "Conversations handed to a person.")
RATE_LIMITED = Counter(
    "fusiondesk_rate_limited_total", "Requests refused by a rate limit.", ["scope"]
)
AUTH_FAILURES = Counter(
    "fusiondesk_auth_failures_total",
    "Failed authentications (missing or unknown API key), and tries refused while an IP waits.",
    ["outcome"],
)
WEBSOCKETS = Gauge("fusiondesk_websocket_connections", "Open chat WebSocket connections.")
HANDOFFS_BY_REASON = Counter(
    "fusiondesk_handoffs_by_reason_total",
    "Conversations moved to the agents' queue, by reason (requested, repeated_failure).",
    ["reason"],
)
HANDOFF_QUEUE = Gauge(
    "fusiondesk_handoff_queue_length",
    "Handed-off conversations by state (waiting, agent), as of the last look at the queue.",
    ["state"],
)
FIRST_AGENT_REPLY = Histogram(
    "fusiondesk_handoff_first_agent_reply_seconds",
    "Time from a handoff to the first agent reply.",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200),
)
RESOLVED = Counter(
    "fusiondesk_conversations_resolved_total",
    "Conversations resolved: by an agent, by the bot (handed back), or by the inactivity timeout.",
    ["by"],
)


def record_message(channel: str, intent: str, *, out_of_scope: bool, handoff: bool) -> None:
    """Counts a handled customer message (whatever channel it came by)."""
    MESSAGES.labels(channel).inc()
    INTENTS.labels(intent).inc()
    if out_of_scope:
        OUT_OF_SCOPE.inc()
    if handoff:
        HANDOFFS.inc()


request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The id of the request being served, for log lines (set by the request-context middleware)."""

_SECRETS = [
    (re.compile(r"(?i)\b(key|token|api_key|apikey|password|secret)=([^&\s\"']+)"), r"\1=***"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 ***"),
    (re.compile(r"(?i)(x-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"), r"\1***"),
]


_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def redact(text: str) -> str:
    """Masks API keys, conversation tokens and passwords wherever a log line quotes them.

    A line with percent-escapes is masked decoded: the server decodes ``?t%6Fken=`` to
    ``token=`` and accepts it, so the log must see what the server sees (decoded until nothing
    changes: ``%2574`` hides ``%74``)."""
    for _ in range(4):
        if not _PERCENT_ESCAPE.search(text):
            break
        text = unquote(text)
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extra ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if (current := request_of(record)) is not None:
            entry["request_id"] = current
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class RedactingFormatter(logging.Formatter):
    """Plain text lines, with secrets masked and the request id appended when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        current = request_of(record)
        return f"{line} [request_id={current}]" if current else line


def request_of(record: logging.LogRecord) -> str | None:
    """The request a record was logged in: stamped on it when it was queued (the writer's
    thread has no request), else the current one."""
    stamped: str | None = getattr(record, "request_id", None)
    return stamped if stamped is not None else request_id.get()


class _StampingQueueHandler(logging.handlers.QueueHandler):
    """Queues a record with what only the logging thread knows (its request id, its
    arguments resolved into the message) and leaves the formatting to the writer's thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.request_id = request_id.get()
        record.msg, record.args = record.getMessage(), None
        return record


def configure_logging(
    style: Literal["json", "text"], level: int = logging.INFO, *, off_thread: bool = False
) -> logging.handlers.QueueListener | None:
    """Route every logger (uvicorn's too) through one handler of the chosen style.

    ``off_thread``: a thread formats and writes the lines, so an event loop never waits on
    JSON encoding or on a slow log sink (a full pipe blocks a write). Only for processes that
    do not fork afterwards: a forked child would queue into a queue no thread reads. Returns
    that thread's listener (stopped at exit; ``stop()`` writes what is queued).
    """
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if style == "json"
        else RedactingFormatter("%(levelname)s %(name)s: %(message)s")
    )
    root_handler: logging.Handler = handler
    listener = None
    if off_thread:
        lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        listener = logging.handlers.QueueListener(lines, handler, respect_handler_level=True)
        listener.start()
        atexit.register(listener.stop)  # writes what is queued before the process ends
        root_handler = _StampingQueueHandler(lines)
    logging.basicConfig(level=level, handlers=[root_handler], force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return listener
