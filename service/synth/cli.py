"""``fusiondesk synth ...``: make training data for other modalities from text examples."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np


@click.group()
def synth() -> None:
    """Make synthetic multimodal training data from text intent examples."""


@synth.command()
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder to write."
)
@click.option("--limit", type=click.IntRange(min=1), help="Render a random sample of this size.")
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling and style seed.")
@click.option("--with-text", is_flag=True, help="Keep the typed text beside each image.")
def screenshot(data: Path, out_dir: Path, limit: int | None, seed: int, with_text: bool) -> None:
    """Render DATA's text examples (JSONL or CSV) as screenshots, with a JSONL manifest."""
    from service.synth.screenshot import write_screenshots
    from service.training.data import load_dataset

    rows = [
        (example.inputs["text"], example.intent)
        for example in load_dataset(data).examples
        if "text" in example.inputs
    ]
    if limit is not None and limit < len(rows):
        chosen = np.random.default_rng(seed).choice(len(rows), size=limit, replace=False)
        rows = [rows[index] for index in sorted(chosen)]
    with click.progressbar(rows, label="rendering") as progress:
        manifest = write_screenshots(progress, out_dir, seed=seed, with_text=with_text)
    click.echo(f"Wrote {len(rows)} screenshots and {manifest}")
