"""``fusiondesk synth ...``: make training data for other modalities from text examples."""

from __future__ import annotations

from pathlib import Path

import click


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
    import numpy as np

    from fusiondesk.service.synth.screenshot import write_screenshots
    from fusiondesk.service.training.data import load_dataset

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


@synth.command()
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--variants", default=2, show_default=True, help="Spoken versions of each row.")
@click.option("--seed", default=0, show_default=True, help="Draws voices, speeds, pitches, noise.")
@click.option("--limit", type=click.IntRange(min=1), help="Speak only the first N rows.")
@click.option(
    "--text/--no-text",
    "keep_text",
    default=True,
    show_default=True,
    help="Keep the typed text beside the audio in each row.",
)
def voice(
    data: Path, out_dir: Path, variants: int, seed: int, limit: int | None, keep_text: bool
) -> None:
    """Speak the text rows of DATA with espeak-ng (several voices, speeds and pitches, with
    background noise) into OUT_DIR: WAV files and voice.jsonl for `fusiondesk train`."""
    from fusiondesk.service.synth.voice import synthesize_voice_dataset

    summary = synthesize_voice_dataset(
        data, out_dir, variants=variants, seed=seed, limit=limit, keep_text=keep_text
    )
    click.echo(f"Wrote {summary.rows} spoken rows to {summary.jsonl}")
