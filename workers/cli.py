"""``fusiondesk worker``, ``status`` and ``dead-letters``: the Celery side's commands.

The ``fusiondesk`` group finds them through the ``fusiondesk.commands`` entry points
(pyproject.toml), so the core never imports this package. Only click is imported here:
Celery, Redis and the models load inside the commands, so listing them costs nothing.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import click


@click.command()
@click.option("--queues", default="gpu,cpu", show_default=True, help="Queues to consume.")
@click.option("--device", help="Torch device for the models: cpu, cuda:0 ... (FUSIONDESK_DEVICE).")
@click.option("--concurrency", type=int, help="Threads (FUSIONDESK_CELERY__CONCURRENCY).")
@click.option(
    "--pool",
    type=click.Choice(["threads", "solo"]),
    default="threads",
    show_default=True,
    help="threads batches concurrent messages; solo runs one at a time. One process per GPU.",
)
@click.option("--hostname", help="Worker name (default: fusiondesk-<pid>@<host>).")
def worker(
    queues: str, device: str | None, concurrency: int | None, pool: str, hostname: str | None
) -> None:
    """Run a Celery worker that encodes messages from QUEUES (Ctrl-C finishes in-flight work)."""
    if device is not None:
        os.environ["FUSIONDESK_DEVICE"] = device  # read by the worker's settings
    from fusiondesk.workers.worker import app

    threads = concurrency or _concurrency()
    app.worker_main(
        [
            "worker",
            "--queues",
            queues,
            "--pool",
            pool,
            "--concurrency",
            str(threads if pool == "threads" else 1),
            "--hostname",
            hostname or f"fusiondesk-{os.getpid()}@{socket.gethostname()}",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def _concurrency() -> int:
    from fusiondesk.service.settings import Settings

    return Settings().celery.concurrency


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Queues and their depths, live workers, models loaded and the batch sizes they ran."""
    import redis

    from fusiondesk.service.settings import Settings
    from fusiondesk.workers.app import QUEUES
    from fusiondesk.workers.records import DEAD_LETTER_KEY, queue_depths, read_workers

    settings = Settings()
    try:
        with redis.Redis.from_url(settings.celery.broker_url, socket_connect_timeout=2) as client:
            report: dict[str, Any] = {
                "broker": settings.celery.broker_url,
                "queues": queue_depths(client, QUEUES),
                "workers": read_workers(client),
                "dead_letters": int(client.llen(DEAD_LETTER_KEY)),
            }
    except (redis.RedisError, OSError) as error:
        raise click.ClickException(
            f"broker {settings.celery.broker_url} unreachable: {error}"
        ) from error
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"broker        {report['broker']}")
    for queue, depth in report["queues"].items():
        click.echo(f"queue {queue:<7} {depth} waiting")
    click.echo(f"dead letters  {report['dead_letters']}")
    click.echo(f"workers       {len(report['workers'])}")
    for record in report["workers"]:
        click.echo(
            f"  {record['hostname']}  queues={','.join(record['queues'])}  {record['device']}"
        )
        for model, stats in record["models"].items():
            sizes = ", ".join(
                f"{size}x{count}"
                for size, count in sorted(stats["batch_sizes"].items(), key=lambda i: int(i[0]))
            )
            click.echo(
                f"    {model:<10} loaded={stats['loaded']!s:<5} batches={stats['batches']} "
                f"items={stats['items']} errors={stats['errors']} sizes: {sizes or '-'}"
            )


@click.command("dead-letters")
@click.option("--limit", type=int, default=20, show_default=True)
def dead_letters(limit: int) -> None:
    """Messages that failed for good on the workers, newest first (JSON lines)."""
    import redis

    from fusiondesk.service.settings import Settings
    from fusiondesk.workers.records import read_dead_letters

    with redis.Redis.from_url(Settings().celery.broker_url, socket_connect_timeout=2) as client:
        for letter in read_dead_letters(client, limit):
            click.echo(json.dumps(letter))
