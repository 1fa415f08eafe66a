"""Thin Celery tasks: hand the payload to the worker's runtime, return the encoding.

The runtime (plugins, batchers, statistics) is ``fusiondesk.workers.runtime``; what a failed
encoding becomes (a retry or a dead letter) is ``fusiondesk.workers.retries``.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task, states

from fusiondesk.plugins import InputError, Payload
from fusiondesk.service.settings import Settings
from fusiondesk.workers.app import QUEUES, RESUBMITTED_HEADER, encode_task_name, group_task_name
from fusiondesk.workers.retries import retry_or_bury
from fusiondesk.workers.runtime import worker_runtime
from fusiondesk.workers.wire import WireEncoding, encoding_to_wire, input_error_to_wire


def register_tasks(app: Celery, settings: Settings) -> None:
    """One encode task per queue; a plugin's ``queue`` attribute picks which one it gets."""

    def encode(task: Task[Any, Any], plugin_name: str, payload: Payload) -> WireEncoding:
        stored: WireEncoding | None = _stored_result(task)
        if stored is not None:
            return stored
        runtime = worker_runtime(settings)
        try:
            encoding = runtime.encode(plugin_name, payload)
        except InputError as error:
            return input_error_to_wire(error)
        except Exception as error:
            runtime.stats.record_error(plugin_name)
            retry_or_bury(task, settings.celery, runtime.redis, plugin_name, payload, error)
        return encoding_to_wire(encoding)

    def encode_group(task: Task[Any, Any], items: list[list[Any]]) -> list[WireEncoding]:
        # No retries here: a part that failed comes back as a failure and the API publishes it
        # again alone, so a poisonous part never holds its neighbours' answers back.
        stored: list[WireEncoding] | None = _stored_result(task)
        if stored is not None:
            return stored
        pairs = [(str(plugin_name), payload) for plugin_name, payload in items]
        return worker_runtime(settings).encode_group(pairs)

    for queue in QUEUES:
        app.task(name=encode_task_name(queue), bind=True, acks_late=True)(encode)
        app.task(name=group_task_name(queue), bind=True, acks_late=True)(encode_group)


def _stored_result(task: Task[Any, Any]) -> Any:
    """The result already stored for this task id, if it may have one.

    Tasks are idempotent by id: a redelivered message whose result is stored (its worker died
    between storing and acknowledging), or one the API published again, is not encoded twice.
    Only those can have a result, so the rest skip the round trip.
    """
    request = task.request
    if request.delivery_info.get("redelivered") or getattr(request, RESUBMITTED_HEADER, None):
        stored = task.backend.get_task_meta(request.id)
        if stored.get("status") == states.SUCCESS:
            return stored["result"]
    return None
