"""``fusiondesk worker``, ``status``, ``dead-letters`` and ``batch``.

Only click is imported here: Celery, Redis and the models load inside the commands, so the
embedded (inline) CLI never pays for them.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
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


@click.command()
@click.argument("input_path", metavar="INPUT.jsonl", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@click.option("--model-dir", type=click.Path(exists=True, path_type=Path))
@click.option("--in-flight", type=int, default=256, show_default=True, help="Rows in the queue.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def batch(
    input_path: Path, out_path: Path, model_dir: Path | None, in_flight: int, no_progress: bool
) -> None:
    """Push a backlog through the queue: one JSON line per INPUT row, in input order.

    A row holds ``text`` and/or a file path per part type (``audio``, ``image``...), and an
    optional ``id``. Rows already in OUT are skipped, so an interrupted run resumes.
    """
    import asyncio

    from fusiondesk.service.backlog import run_backlog
    from fusiondesk.service.settings import Settings

    settings = Settings(executor="celery")
    if model_dir is not None:
        settings = settings.model_copy(update={"model_dir": model_dir})
    summary = asyncio.run(
        run_backlog(settings, input_path, out_path, in_flight=in_flight, progress=not no_progress)
    )
    click.echo(
        f"{summary.total} rows: {summary.skipped} already done, {summary.answered} answered, "
        f"{summary.errors} with errors, {summary.seconds:.1f}s"
    )


COMMANDS = (worker, status, dead_letters, batch)
