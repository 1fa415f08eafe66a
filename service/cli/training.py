"""``fusiondesk train`` and ``fusiondesk vocabulary``: making a model from labelled data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from fusiondesk.service.cli.common import quiet_per_clip_logs, settings_from

if TYPE_CHECKING:
    from fusiondesk.service.understanding.fusion import SlotConfig

STRATEGY_NAMES = ("concat", "weighted_sum", "gated", "attention")
"""The fusion strategies, for the options' choices. Spelled out here because the list in
``fusion.strategies`` comes with torch, which ``--help`` must not wait for (a test keeps the
two equal)."""
ENCODER_NAMES = ("minilm", "mpnet")
"""The packaged text encoders (``fusiondesk.plugins.text.packaged``; a test keeps them equal)."""


@click.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Model directory to write.",
)
@click.option("--val", "val_data", type=click.Path(path_type=Path), help="Validation data.")
@click.option("--strategy", type=click.Choice(STRATEGY_NAMES), help="Fusion strategy.")
@click.option("--epochs", type=int, help="Most training epochs (early stopping may end sooner).")
@click.option("--seed", type=int, help="Random seed (runs are reproducible).")
@click.option(
    "--members", type=int, help="Heads trained side by side and averaged (a small ensemble)."
)
@click.option(
    "--finetune-encoder",
    is_flag=True,
    help="Fine-tune the text encoder first; it is saved inside the model directory.",
)
@click.option("--finetune-epochs", type=int, help="Encoder fine-tuning epochs.")
@click.option("--multilingual", is_flag=True, help="Add the multilingual (USE) text slot.")
@click.option(
    "--encoder",
    type=click.Choice(ENCODER_NAMES),
    help="Packaged text encoder (default: FUSIONDESK_TEXT_ENCODER, see the settings).",
)
@click.option(
    "--oos-recall-target", type=float, help="Threshold: reject this share of out-of-scope rows."
)
@click.option(
    "--oos-precision-target", type=float, help="Threshold: rejections out-of-scope this often."
)
@click.option(
    "--synthetic-outliers",
    type=float,
    help="Per batch, this share of extra out-of-scope rows mixed from two intents.",
)
@click.option(
    "--domain",
    type=click.Path(exists=True, path_type=Path),
    help="Domain file (replies) to store with the model.",
)
def train(
    data: Path,
    out_dir: Path,
    val_data: Path | None,
    strategy: str | None,
    epochs: int | None,
    seed: int | None,
    members: int | None,
    finetune_encoder: bool,
    finetune_epochs: int | None,
    multilingual: bool,
    encoder: str | None,
    oos_recall_target: float | None,
    oos_precision_target: float | None,
    synthetic_outliers: float | None,
    domain: Path | None,
) -> None:
    """Train an intent model on DATA (JSONL, CSV, CLINC150 JSON#split or a folder)."""
    from fusiondesk.service.replies.domain import Domain, copy_domain
    from fusiondesk.service.training import TrainingOptions, train_from_file
    from fusiondesk.service.training.finetune import FinetuneOptions
    from fusiondesk.service.understanding.wiring import build_registry

    settings = settings_from()
    if multilingual:
        settings.plugins.setdefault("text", {})["multilingual"] = True
    if encoder is not None:
        settings.text_encoder = encoder  # type: ignore[assignment]  # one of the Literal's
    overrides = {
        "epochs": epochs,
        "seed": seed,
        "members": members,
        "strategy": strategy,
        "oos_recall_target": oos_recall_target,
        "oos_precision_target": oos_precision_target,
        "synthetic_outliers": synthetic_outliers,
    }
    options = TrainingOptions.model_validate({k: v for k, v in overrides.items() if v is not None})
    finetune = None
    if finetune_encoder:
        finetune = FinetuneOptions.model_validate(
            {"epochs": finetune_epochs} if finetune_epochs else {}
        )
    if domain is not None:
        Domain.load(domain)  # refuse a broken domain before training, not after
    with quiet_per_clip_logs():
        result = train_from_file(
            data,
            out_dir,
            build_registry(settings),
            options,
            cache_dir=settings.cache_dir,
            val_path=val_data,
            finetune=finetune,
            device=settings.device,
        )
    if domain is not None:
        copy_domain(domain, out_dir)
    metrics = result.metrics
    calibration = result.model.config.calibration
    click.echo(
        f"Saved {out_dir}: {len(result.model.config.intents)} intents, "
        f"text encoder {_text_encoder(result.model.config.slots)}, "
        f"strategy {result.model.config.strategy}, "
        f"val accuracy {metrics['val_accuracy']:.4f}, {metrics['epochs_run']} epochs, "
        f"{metrics['training_seconds']:.1f}s, threshold "
        f"{calibration.threshold:.3f} ({calibration.rule})"
    )


def _text_encoder(slots: list[SlotConfig]) -> str:
    names = sorted({slot.encoder for slot in slots if slot.encoder is not None})
    return "+".join(names) or "none"


@click.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--size",
    type=click.IntRange(min=1),
    default=None,
    help="How many words (default 80: more helped Whisper tiny.en than 40 on BANKING77).",
)
def vocabulary(data: Path, size: int | None) -> None:
    """Print DATA's domain words as a hotwords setting (trained models carry their own)."""
    from fusiondesk.service.training.data import load_dataset
    from fusiondesk.service.training.vocabulary import DEFAULT_SIZE, dataset_vocabulary, hotwords

    words = dataset_vocabulary(load_dataset(data), size=size if size is not None else DEFAULT_SIZE)
    if not words:
        raise click.ClickException(f"{data} has no text rows to take words from.")
    click.echo(f"FUSIONDESK_PLUGINS__VOICE__HOTWORDS={json.dumps(hotwords(words))}")
