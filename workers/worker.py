"""The worker process: ``fusiondesk worker`` runs it, and so can ``celery -A
fusiondesk.workers.worker`` (which is also how Flower finds the app: ``celery -A
fusiondesk.workers.worker flower``).

Models load in the worker process after it is up (``worker_ready``), in a background thread:
never before a fork and never inside ``worker_process_init``, which Celery kills when slow.

Before it consumes anything the worker starts its liveness (``fusiondesk.workers.inflight``):
its messages go back to the queue within seconds of its death. On SIGTERM it stops taking
work and finishes what it holds; whatever is still running after ``shutdown_grace_s`` goes back
to the queue for a peer, and the process exits (inside a 30 s Kubernetes grace period).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import redis
from celery import Celery
from celery.signals import celeryd_init, worker_ready, worker_shutdown, worker_shutting_down
from kombu.transport import redis as kombu_redis

from fusiondesk.service.settings import Settings
from fusiondesk.workers.app import QUEUES, create_celery_app
from fusiondesk.workers.inflight import (
    Liveness,
    Restore,
    liveness_ttl_s,
    new_owner,
    track_deliveries,
)
from fusiondesk.workers.runtime import start_worker_runtime, worker_runtime
from fusiondesk.workers.tasks import register_tasks

logger = logging.getLogger(__name__)


def _survive_restore_without_connection() -> None:
    """Keep the worker alive when Redis goes away under unacknowledged messages.

    On a lost connection kombu's Redis channel closes and restores its unacknowledged messages
    through a client it can no longer build (``AttributeError`` on ``None``), which Celery
    treats as unrecoverable: the worker exits. Those messages are still in Redis's unacked set
    and come back through the visibility-timeout sweep, so skipping the restore is safe.
    """
    original = kombu_redis.QoS.restore_unacked

    def restore_unacked(self: kombu_redis.QoS, client: Any = None) -> None:
        try:
            original(self, client)  # type: ignore[no-untyped-call]
        except AttributeError as error:
            logger.warning("broker gone; unacked messages return after visibility: %s", error)

    kombu_redis.QoS.restore_unacked = restore_unacked  # type: ignore[method-assign]


def build_worker_app(settings: Settings) -> Celery:
    _survive_restore_without_connection()
    app = create_celery_app(settings)
    register_tasks(app, settings)
    stop = threading.Event()
    liveness: list[Liveness] = []  # set once the worker knows its hostname

    def _on_init(sender: Any, **_: Any) -> None:
        # Before the consumer starts: every delivery this process will hold is recorded.
        owner = new_owner(str(sender))
        client = redis.Redis.from_url(
            settings.celery.broker_url, socket_connect_timeout=2.0, socket_timeout=5.0
        )
        track_deliveries(client, owner)
        beat_s = settings.celery.heartbeat_s
        liveness.append(Liveness(client, owner, beat_s, liveness_ttl_s(beat_s), _restorer(app)))
        liveness[0].start()

    def _on_shutting_down(**_: Any) -> None:
        # Called inside the SIGTERM handler: only start the clock here.
        timer = threading.Timer(settings.shutdown_grace_s, _give_back_and_exit, (liveness,))
        timer.daemon = True
        timer.start()

    def _on_ready(sender: Any, **_: Any) -> None:
        # One line per received and per succeeded task (with its vectors) costs more than the
        # task at thousands per second; failures and retries are still logged.
        for chatty in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
        consumed = set(sender.app.amqp.queues.consume_from or QUEUES)
        queues = [queue for queue in QUEUES if queue in consumed]
        runtime = start_worker_runtime(settings, str(sender.hostname), queues)
        threading.Thread(target=runtime.warm_up, name="warm-up", daemon=True).start()
        threading.Thread(target=_heartbeat, args=(settings, stop), daemon=True).start()

    def _on_shutdown(**_: Any) -> None:
        stop.set()
        runtime = worker_runtime(settings)
        try:
            runtime.stats.withdraw(runtime.redis)
            for owner in liveness:
                owner.withdraw()
        except Exception as error:  # Redis may be the reason we stop
            logger.warning("could not withdraw the worker record: %s", error)

    celeryd_init.connect(_on_init, weak=False)
    worker_ready.connect(_on_ready, weak=False)
    worker_shutting_down.connect(_on_shutting_down, weak=False)
    worker_shutdown.connect(_on_shutdown, weak=False)
    return app


def _restorer(app: Celery) -> Restore:
    """kombu's own restore of one delivery tag, on a connection of the liveness thread."""
    connection = app.connection_for_write()

    def restore(tag: str) -> None:
        connection.default_channel.qos.restore_by_tag(tag)

    return restore


def _give_back_and_exit(liveness: list[Liveness]) -> None:
    """The grace period is over and work is still running: a peer gets it, this process ends."""
    returned = 0
    try:
        returned = sum(owner.withdraw() for owner in liveness)
    finally:
        logger.warning("shutdown grace over: returned %d message(s) to the queue", returned)
        os._exit(1)  # the task threads would hold a normal exit until they finish


def _heartbeat(settings: Settings, stop: threading.Event) -> None:
    runtime = worker_runtime(settings)
    period = settings.celery.heartbeat_s
    while not stop.is_set():
        try:
            runtime.stats.publish(runtime.redis, ttl_s=period * 3)
        except Exception as error:  # keep beating through a Redis outage
            logger.debug("heartbeat failed: %s", error)
        stop.wait(period)


app = build_worker_app(Settings())
