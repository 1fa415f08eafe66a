"""The Celery application: Redis broker and result backend, msgpack only, routing by name.

Task names say where they run: ``fusiondesk.gpu.*`` go to the ``gpu`` queue and
``fusiondesk.cpu.*`` to the ``cpu`` queue, so a plugin picks its queue through its ``queue``
class attribute and nothing here names a plugin.
"""

from __future__ import annotations

from celery import Celery

from fusiondesk.service.settings import Settings

QUEUES = ("gpu", "cpu")
SERIALIZER = "msgpack"
"""msgpack carries the plugins' ``bytes`` payloads natively; pickle is never accepted."""


def encode_task_name(queue: str) -> str:
    """One part per task: retried with backoff, dead-lettered when it fails for good."""
    return f"fusiondesk.{queue}.encode"


def group_task_name(queue: str) -> str:
    """Several parts per task (``fusiondesk.workers.grouping``); a failed part goes back alone."""
    return f"fusiondesk.{queue}.encode_group"


RESULT_KEY_PREFIX = "celery-task-meta-"
"""Where Celery's Redis backend stores a task's result (its default key prefix)."""
RESUBMITTED_HEADER = "fusiondesk_resubmitted"
"""Set on a task the API published again after waiting too long for its result."""


def create_celery_app(settings: Settings, *, results: bool = True) -> Celery:
    """``results=False`` for publishers that read results themselves
    (``fusiondesk.workers.client``): Celery's own result consumer would subscribe to every task
    synchronously."""
    config = settings.celery
    backend = config.resolved_result_backend if results else None
    app = Celery("fusiondesk", broker=config.broker_url, backend=backend)
    app.conf.update(
        task_serializer=SERIALIZER,
        result_serializer=SERIALIZER,
        accept_content=[SERIALIZER],
        result_accept_content=[SERIALIZER],
        task_routes={f"fusiondesk.{queue}.*": {"queue": queue} for queue in QUEUES},
        task_default_queue="gpu",
        # Nothing lost: a message is acknowledged only once its task has finished, and goes
        # back to the queue when the worker dies under it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Each thread holds one message: heavy queues must not hoard work a peer could do.
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": config.visibility_timeout_s,
            # Sweep for messages of dead workers a few times per visibility timeout (kombu's
            # default sweeps every 100 s whatever the timeout).
            "unacked_restore_interval": min(60.0, max(1.0, config.visibility_timeout_s / 4)),
            "unacked_restore_throttle": 1,
            # The sweep's lock outlives a Redis restart (append-only file): keep it short.
            "unacked_mutex_expire": min(300.0, max(5.0, config.visibility_timeout_s / 2)),
            "socket_connect_timeout": 2.0,
            # A publish to a broker that vanished without closing the socket fails, not hangs.
            "socket_timeout": 10.0,
        },
        result_backend_transport_options={"socket_connect_timeout": 2.0},
        result_expires=max(3600, int(config.result_timeout_s * 2)),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # Task events cost three extra publishes per message; Flower switches them on itself
        # (`celery control enable_events` does too), and /metrics covers the fleet without.
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app
