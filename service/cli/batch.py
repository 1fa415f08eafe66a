"""``fusiondesk batch``: a backlog file through the queue, one answer line per row."""

from __future__ import annotations

from pathlib import Path

import click


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

    # The Celery executor is chosen by name: the runtime imports the workers' side itself.
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
