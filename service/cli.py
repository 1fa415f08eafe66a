"""The ``fusiondesk`` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import click

from plugins import Part, PluginError, PluginRegistry
from service.errors import FusionDeskError
from service.settings import Settings


def _settings(**overrides: Any) -> Settings:
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def _registry(settings: Settings) -> PluginRegistry:
    from service.runtime import build_registry

    return build_registry(settings)


class CliGroup(click.Group):
    """Turns fusiondesk's own errors into one readable line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (FusionDeskError, PluginError) as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=CliGroup)
@click.version_option(package_name="fusiondesk")
def main() -> None:
    """fusiondesk: multimodal customer-service backend."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--host", help="Interface to listen on (FUSIONDESK_HOST).")
@click.option("--port", type=int, help="Port (FUSIONDESK_PORT).")
@click.option("--model-dir", type=click.Path(path_type=Path), help="Model to serve.")
def serve(host: str | None, port: int | None, model_dir: Path | None) -> None:
    """Start the HTTP/WebSocket service (trains the demo model first if none exists)."""
    import uvicorn

    from service.api import create_app
    from service.demo import ensure_demo_model

    settings = _settings(host=host, port=port, model_dir=model_dir)
    if settings.model_dir is None:
        target = settings.resolved_model_dir
        click.echo(f"Serving the demo model from {target}")
        if ensure_demo_model(target, _registry(settings), settings.cache_dir):
            click.echo("Trained the demo model.")
    click.echo(f"fusiondesk on http://{settings.host}:{settings.port} (docs at /docs)")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@main.command()
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Model directory to write.",
)
@click.option("--epochs", type=int, help="Most training epochs (early stopping may end sooner).")
@click.option("--seed", type=int, help="Random seed (runs are reproducible).")
@click.option(
    "--domain",
    type=click.Path(exists=True, path_type=Path),
    help="Domain file (replies) to store with the model.",
)
def train(
    data: Path, out_dir: Path, epochs: int | None, seed: int | None, domain: Path | None
) -> None:
    """Train an intent model on DATA (JSONL or BANKING77-style CSV)."""
    from service.responder import DOMAIN_FILE, Domain
    from service.training import TrainingOptions, train_from_file

    settings = _settings()
    overrides = {"epochs": epochs, "seed": seed}
    options = TrainingOptions.model_validate({k: v for k, v in overrides.items() if v is not None})
    if domain is not None:
        Domain.load(domain)  # refuse a broken domain before training, not after
    result = train_from_file(
        data, out_dir, _registry(settings), options, cache_dir=settings.cache_dir
    )
    if domain is not None:
        shutil.copyfile(domain, out_dir / DOMAIN_FILE)
    metrics = result.metrics
    click.echo(
        f"Saved {out_dir}: {len(result.model.config.intents)} intents, "
        f"val accuracy {metrics['val_accuracy']:.4f}, {metrics['epochs_run']} epochs, "
        f"{metrics['training_seconds']:.1f}s"
    )


@main.command()
@click.argument("model_dir", type=click.Path(exists=True, path_type=Path))
@click.argument("data", type=click.Path(exists=True, path_type=Path))
def evaluate(model_dir: Path, data: Path) -> None:
    """Score the model in MODEL_DIR on the labelled DATA: accuracy and macro-F1."""
    from service.fusion import IntentClassifier
    from service.training import evaluate_file

    settings = _settings()
    classifier = IntentClassifier.load(model_dir)
    evaluation = evaluate_file(classifier, data, _registry(settings), cache_dir=settings.cache_dir)
    click.echo(f"rows      {evaluation.rows}")
    click.echo(f"accuracy  {evaluation.accuracy:.4f}")
    click.echo(f"macro_f1  {evaluation.macro_f1:.4f}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List the installed modality plugins with their slots."""
    registry = _registry(_settings())
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


@main.command()
@click.argument("text")
@click.option("--model-dir", type=click.Path(exists=True, path_type=Path))
def classify(text: str, model_dir: Path | None) -> None:
    """Classify one typed message and print the intent ranking."""
    from service.runtime import Runtime

    runtime = Runtime.from_settings(_settings(model_dir=model_dir))

    async def run() -> None:
        await runtime.start()
        try:
            understanding = await runtime.router.understand([Part("text", text=text)])
        finally:
            await runtime.close()
        prediction = understanding.prediction
        label = "out_of_scope" if prediction.out_of_scope else prediction.intent
        click.echo(f"{label} ({prediction.confidence:.3f})")
        for ranked in prediction.ranking:
            click.echo(f"  {ranked.intent:<28} {ranked.confidence:.3f}")

    asyncio.run(run())


def _add_worker_commands() -> None:
    from workers.cli import COMMANDS  # click only: Celery loads inside the commands

    for command in COMMANDS:
        main.add_command(command)


_add_worker_commands()

if __name__ == "__main__":
    main()
