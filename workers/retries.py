"""What becomes of a single-part task whose encoding failed: a retry, or a dead letter.

A failure on the model (not the customer's input, which is an answer) is tried again with an
exponential backoff, ``max_retries`` times after the first try; then the message is dead: its
record goes to the dead letters (``fusiondesk.workers.records``) and the task fails for good.
"""

from __future__ import annotations

import logging
import time
from typing import Any, NoReturn

import redis
from celery import Task

from fusiondesk.plugins import Payload
from fusiondesk.service.settings import CelerySettings
from fusiondesk.workers.records import record_dead_letter

logger = logging.getLogger(__name__)


def retry_delay_s(config: CelerySettings, retries_done: int) -> float | None:
    """Seconds before the next try, or ``None`` once the task has had all its tries."""
    if retries_done >= config.max_retries:
        return None
    return config.retry_backoff_s * 2.0**retries_done


def dead_letter(
    task: Task[Any, Any], plugin_name: str, payload: Payload, error: Exception
) -> dict[str, Any]:
    """The record kept of a message that failed for good (its payload's keys, not its data)."""
    request = task.request
    return {
        "task_id": request.id,
        "plugin": plugin_name,
        "queue": request.delivery_info.get("routing_key"),
        "tries": request.retries + 1,
        "error": f"{type(error).__name__}: {error}",
        "payload_keys": sorted(payload) if isinstance(payload, dict) else [],
        "failed_at": time.time(),
    }


def retry_or_bury(
    task: Task[Any, Any],
    config: CelerySettings,
    client: redis.Redis,
    plugin_name: str,
    payload: Payload,
    error: Exception,
) -> NoReturn:
    """Raise Celery's retry for ``task``, or record its dead letter and raise ``error``."""
    tries = task.request.retries + 1
    delay_s = retry_delay_s(config, task.request.retries)
    if delay_s is not None:
        logger.warning("%s failed (try %d), retrying: %r", task.request.id, tries, error)
        raise task.retry(exc=error, countdown=delay_s) from error
    logger.error("%s failed for good after %d tries: %r", task.request.id, tries, error)
    record_dead_letter(client, dead_letter(task, plugin_name, payload, error))
    raise error
