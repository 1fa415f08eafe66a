"""``fusiondesk synth``: synthetic training data for modalities without recorded data."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def synth() -> None:
    """Make synthetic multimodal training data from a text intent file."""


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
    from service.synth.voice import synthesize_voice_dataset

    summary = synthesize_voice_dataset(
        data, out_dir, variants=variants, seed=seed, limit=limit, keep_text=keep_text
    )
    click.echo(f"Wrote {summary.rows} spoken rows to {summary.jsonl}")
