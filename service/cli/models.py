"""``fusiondesk classify`` (one message through a model) and ``fusiondesk plugins``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fusiondesk.service.cli.common import settings_from

if TYPE_CHECKING:
    from fusiondesk.service.understanding.fusion import Prediction


@click.command()
@click.argument("text")
@click.option("--model-dir", type=click.Path(exists=True, path_type=Path))
def classify(text: str, model_dir: Path | None) -> None:
    """Classify one typed message and print the intent ranking."""
    import asyncio

    prediction = asyncio.run(_predict(text, model_dir))
    label = "out_of_scope" if prediction.out_of_scope else prediction.intent
    click.echo(f"{label} ({prediction.confidence:.3f})")
    for ranked in prediction.ranking:
        click.echo(f"  {ranked.intent:<28} {ranked.confidence:.3f}")


async def _predict(text: str, model_dir: Path | None) -> Prediction:
    """The model's prediction for ``text``, in this process.

    Only the understanding side is built: the intent needs no domain, replies or knowledge
    base (the whole runtime would open the demo shop's for a model without a domain of its
    own), and each plugin loads when a part needs it, so a text message loads only text.
    """
    from fusiondesk.plugins import Part
    from fusiondesk.service.understanding.executor import InlineExecutor
    from fusiondesk.service.understanding.fusion import IntentClassifier
    from fusiondesk.service.understanding.router import Router
    from fusiondesk.service.understanding.wiring import build_model_registry

    settings = settings_from(model_dir=model_dir)
    model = settings.resolved_model_dir
    classifier = IntentClassifier.load(model, threshold=settings.confidence_threshold)
    registry = build_model_registry(settings, model)
    executor = InlineExecutor(registry)
    try:
        understanding = await Router(registry, executor, classifier).understand(
            [Part("text", text=text)]
        )
    finally:
        await executor.close()
    return understanding.prediction


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List the installed modality plugins with their slots."""
    from fusiondesk.service.understanding.wiring import build_registry

    registry = build_registry(settings_from())
    rows: list[dict[str, Any]] = [
        {
            "name": plugin.name,
            "modality": plugin.modality,
            "part_types": list(plugin.part_types),
            "slots": {slot.name: slot.dim for slot in plugin.slots},
            "max_batch_size": plugin.max_batch_size,
            "max_wait_ms": plugin.max_wait_ms,
            "class": f"{type(plugin).__module__}.{type(plugin).__qualname__}",
        }
        for plugin in registry
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        slots = ", ".join(f"{name}[{dim}]" for name, dim in row["slots"].items())
        click.echo(
            f"{row['name']:<12} modality={row['modality']:<8} "
            f"parts={','.join(row['part_types']):<10} slots={slots}  ({row['class']})"
        )
