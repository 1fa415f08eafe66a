"""The ``fusiondesk`` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from pathlib import Path
from typing import Any

import click

from fusiondesk.plugins import Part, PluginError, PluginRegistry
from fusiondesk.service.errors import FusionDeskError
from fusiondesk.service.observability import configure_logging
from fusiondesk.service.scaffold.cli import plugin as plugin_group
from fusiondesk.service.settings import Settings
from fusiondesk.service.synth.cli import synth
from fusiondesk.service.understanding.fusion.strategies import STRATEGIES

STRATEGY_NAMES = list(STRATEGIES)


def _settings(**overrides: Any) -> Settings:
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def _registry(settings: Settings) -> PluginRegistry:
    from fusiondesk.service.runtime import build_registry

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


main.add_command(synth)


@main.command()
@click.option("--host", help="Interface to listen on (FUSIONDESK_HOST).")
@click.option("--port", type=int, help="Port (FUSIONDESK_PORT).")
@click.option("--model-dir", type=click.Path(path_type=Path), help="Model to serve.")
def serve(host: str | None, port: int | None, model_dir: Path | None) -> None:
    """Start the HTTP/WebSocket service (trains the demo model first if none exists)."""
    import uvicorn

    from fusiondesk.service.api import create_app
    from fusiondesk.service.demo import ensure_demo_model

    settings = _settings(host=host, port=port, model_dir=model_dir)
    if settings.model_dir is None:
        target = settings.resolved_model_dir
        click.echo(f"Serving the demo model from {target}")
        if ensure_demo_model(target, _registry(settings), settings.cache_dir):
            click.echo("Trained the demo model.")
    click.echo(f"fusiondesk on http://{settings.host}:{settings.port} (docs at /docs)")
    configure_logging(settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # our handler: JSON lines with request ids, secrets masked
        access_log=False,  # uvicorn's would log query strings (?key=, ?token=)
        ws_max_size=settings.limits.max_body_bytes,
        # Chat events are a few hundred bytes: compressing each one costs the event loop more
        # CPU than it saves bandwidth (media goes up uncompressed anyway, it is compressed).
        ws_per_message_deflate=False,
    )


@main.group()
def keys() -> None:
    """API keys: settings hold only their sha256."""


@keys.command("new")
@click.option("--name", required=True, help="Shown in logs and metrics.")
@click.option(
    "--scope", "scopes", multiple=True, type=click.Choice(["chat", "admin"]), default=["chat"]
)
@click.option("--public", is_flag=True, help="A chat widget key, limited to its conversations.")
def new_key(name: str, scopes: tuple[str, ...], public: bool) -> None:
    """Make a random key; prints it once and the entry for FUSIONDESK_AUTH__API_KEYS."""
    from fusiondesk.service.api.security import sha256_hex

    key = secrets.token_urlsafe(32)
    entry = {"name": name, "sha256": sha256_hex(key), "scopes": list(scopes), "public": public}
    click.echo(f"key: {key}")
    click.echo(f"settings entry: {json.dumps(entry)}")


DATA_HELP = "JSONL, CSV, CLINC150 JSON (name the split: data_full.json#train) or a folder."


@main.command()
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
    oos_recall_target: float | None,
    oos_precision_target: float | None,
    synthetic_outliers: float | None,
    domain: Path | None,
) -> None:
    """Train an intent model on DATA (JSONL, CSV, CLINC150 JSON#split or a folder)."""
    from fusiondesk.service.replies.domain import Domain, copy_domain
    from fusiondesk.service.training import TrainingOptions, train_from_file
    from fusiondesk.service.training.finetune import FinetuneOptions

    settings = _settings()
    if multilingual:
        settings.plugins.setdefault("text", {})["multilingual"] = True
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
    result = train_from_file(
        data,
        out_dir,
        _registry(settings),
        options,
        cache_dir=settings.cache_dir,
        val_path=val_data,
        finetune=finetune,
        device=settings.device,
    )
    if domain is not None:
        copy_domain(domain, out_dir)
    metrics = result.metrics
    click.echo(
        f"Saved {out_dir}: {len(result.model.config.intents)} intents, "
        f"strategy {result.model.config.strategy}, "
        f"val accuracy {metrics['val_accuracy']:.4f}, {metrics['epochs_run']} epochs, "
        f"{metrics['training_seconds']:.1f}s, threshold "
        f"{result.model.config.calibration.threshold:.3f} ({result.model.config.calibration.rule})"
    )


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--size",
    type=click.IntRange(min=1),
    default=None,
    help="How many words (default 80: more helped Whisper tiny.en than 40 on BANKING77).",
)
def vocabulary(data: Path, size: int | None) -> None:
    """Print DATA's domain words as the voice plugin's hotwords setting (a Whisper hint)."""
    from fusiondesk.service.training.data import load_dataset
    from fusiondesk.service.training.vocabulary import DEFAULT_SIZE, domain_vocabulary, hotwords

    texts = [example.inputs.get("text", "") for example in load_dataset(data).examples]
    words = domain_vocabulary(texts, size=size if size is not None else DEFAULT_SIZE)
    if not words:
        raise click.ClickException(f"{data} has no text rows to take words from.")
    click.echo(f"FUSIONDESK_PLUGINS__VOICE__HOTWORDS={json.dumps(hotwords(words))}")


def _model_registry(settings: Settings, model_dir: Path) -> PluginRegistry:
    """The plugins as the model in ``model_dir`` needs them (its own encoders, its slots)."""
    from fusiondesk.service.understanding.fusion.encoders import (
        model_plugin_settings,
        with_plugin_settings,
    )

    return with_plugin_settings(_registry(settings), model_plugin_settings(model_dir), model_dir)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--report", "report_dir", type=click.Path(path_type=Path), help="Report folder.")
@click.option(
    "--cross-validation",
    "folds",
    type=click.IntRange(min=2),
    help="Stratified K-fold on DATA alone (no MODEL_DIR): train K heads, print mean ± std.",
)
@click.option("--strategy", type=click.Choice(STRATEGY_NAMES), help="Strategy (K-fold only).")
def evaluate(
    paths: tuple[Path, ...], report_dir: Path | None, folds: int | None, strategy: str | None
) -> None:
    """Score MODEL_DIR on labelled DATA (`evaluate MODEL_DIR DATA`), or cross-validate DATA.

    Prints accuracy, macro/weighted F1 and, when DATA has out-of-scope rows, in-scope accuracy
    and out-of-scope recall/precision; --report DIR also writes per-intent figures, charts
    and the errors.
    """
    from fusiondesk.service.training import evaluate_file
    from fusiondesk.service.training.report import format_metrics, write_report
    from fusiondesk.service.understanding.fusion import IntentClassifier

    settings = _settings()
    if folds is not None:
        if len(paths) != 1:
            raise click.UsageError("--cross-validation takes DATA only: evaluate -k 5 DATA")
        _cross_validate(settings, paths[0], folds, strategy)
        return
    if len(paths) != 2:
        raise click.UsageError("give MODEL_DIR and DATA")
    model_dir, data = paths
    classifier = IntentClassifier.load(model_dir)
    evaluation = evaluate_file(
        classifier, data, _model_registry(settings, model_dir), cache_dir=settings.cache_dir
    )
    for line in format_metrics(evaluation):
        click.echo(line)
    if report_dir is not None:
        write_report(evaluation, report_dir, title=data.name)
        click.echo(f"report {report_dir}")


def _cross_validate(settings: Settings, data: Path, folds: int, strategy: str | None) -> None:
    from fusiondesk.service.training import TrainingOptions, featurize, load_dataset
    from fusiondesk.service.training.experiments import cross_validate, mean_and_std

    dataset = load_dataset(data)
    features = featurize(dataset, _registry(settings), settings.cache_dir)
    options = TrainingOptions.model_validate({"strategy": strategy} if strategy else {})
    results = cross_validate(features, dataset.intents, options, folds)
    for result in results:
        click.echo(f"fold {result['fold']}: accuracy {result['accuracy']:.4f}")
    for metric in ("accuracy", "macro_f1"):
        mean, std = mean_and_std(results, metric)
        click.echo(f"{metric} {mean:.4f} ± {std:.4f} ({folds}-fold)")


@main.command()
@click.argument("train_data", type=click.Path(path_type=Path))
@click.argument("test_data", type=click.Path(path_type=Path))
@click.option("--val", "val_data", type=click.Path(path_type=Path), help="Validation data.")
@click.option(
    "--strategy",
    "strategies",
    multiple=True,
    type=click.Choice(STRATEGY_NAMES),
    help="Strategies to compare (repeat; default all).",
)
@click.option("--multilingual", is_flag=True, help="Add the multilingual (USE) text slot.")
@click.option("--oos-recall-target", type=float, help="Threshold rule for out-of-scope data.")
def compare(
    train_data: Path,
    test_data: Path,
    val_data: Path | None,
    strategies: tuple[str, ...],
    multilingual: bool,
    oos_recall_target: float | None,
) -> None:
    """Train several strategies on TRAIN_DATA and print one table of their TEST_DATA scores."""
    from fusiondesk.service.training import TrainingOptions, featurize, load_dataset
    from fusiondesk.service.training.experiments import compare_options, comparison_table

    settings = _settings()
    if multilingual:
        settings.plugins.setdefault("text", {})["multilingual"] = True
    registry = _registry(settings)
    train_set, test_set = load_dataset(train_data), load_dataset(test_data)
    train = (featurize(train_set, registry, settings.cache_dir), train_set.intents)
    test_texts = [example.inputs.get("text", "") for example in test_set.examples]
    test = (featurize(test_set, registry, settings.cache_dir), test_set.intents, test_texts)
    validation = None
    if val_data is not None:
        val_set = load_dataset(val_data)
        validation = (featurize(val_set, registry, settings.cache_dir), val_set.intents)
    variants = {
        name: TrainingOptions(strategy=name, oos_recall_target=oos_recall_target)  # type: ignore[arg-type]
        for name in strategies or STRATEGY_NAMES
    }
    rows = compare_options(train, test, variants, validation=validation)
    for line in comparison_table(rows):
        click.echo(line)


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
    from fusiondesk.service.runtime import Runtime

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


@main.command()
@click.argument("questions", nargs=-1)
@click.option("--domain", type=click.Path(exists=True, path_type=Path), help="Domain file.")
def knowledge(questions: tuple[str, ...], domain: Path | None) -> None:
    """Build (or load) the knowledge index and show which entries answer QUESTIONS."""
    from fusiondesk.service.replies.domain import Domain
    from fusiondesk.service.replies.knowledge import open_knowledge_base
    from fusiondesk.service.runtime import domain_path

    settings = _settings(domain_path=domain)
    knowledge_base = open_knowledge_base(settings, Domain.load(domain_path(settings)))
    if knowledge_base is None:
        raise click.ClickException("No knowledge files: see the domain's `knowledge` section.")
    for question in questions:
        hits = asyncio.run(knowledge_base.search(question))
        click.echo(f"{question}")
        if not hits:
            click.echo("  (nothing above the score threshold: the fallback answers)")
        for hit in hits:
            click.echo(f"  {hit.score:.3f}  {hit.title}  [{Path(hit.file).name}]")


main.add_command(plugin_group)


def _add_worker_commands() -> None:
    from fusiondesk.workers.cli import COMMANDS  # click only: Celery loads inside the commands

    for command in COMMANDS:
        main.add_command(command)


_add_worker_commands()

if __name__ == "__main__":
    main()
