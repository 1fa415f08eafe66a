"""``fusiondesk evaluate`` (a model on data, or K-fold) and ``fusiondesk compare`` (strategies)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from fusiondesk.service.cli.common import quiet_per_clip_logs, settings_from
from fusiondesk.service.cli.training import STRATEGY_NAMES

if TYPE_CHECKING:
    from fusiondesk.service.settings import Settings


@click.command()
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
    and the errors. A CLINC150 JSON without #split is scored on its test split.
    """
    from fusiondesk.service.training import evaluate_file
    from fusiondesk.service.training.data import evaluation_path
    from fusiondesk.service.training.report import format_metrics, write_report
    from fusiondesk.service.understanding.fusion import IntentClassifier
    from fusiondesk.service.understanding.wiring import build_model_registry

    settings = settings_from()
    if folds is not None:
        if len(paths) != 1:
            raise click.UsageError("--cross-validation takes DATA only: evaluate -k 5 DATA")
        _cross_validate(settings, paths[0], folds, strategy)
        return
    if len(paths) != 2:
        raise click.UsageError("give MODEL_DIR and DATA")
    model_dir, named = paths
    data = evaluation_path(named)
    if data != named:
        click.echo(f"{named} names no split: scoring its test split ({data.name})")
    classifier = IntentClassifier.load(model_dir)
    with quiet_per_clip_logs():
        evaluation = evaluate_file(
            classifier,
            data,
            build_model_registry(settings, model_dir),
            cache_dir=settings.cache_dir,
        )
    for line in format_metrics(evaluation):
        click.echo(line)
    if report_dir is not None:
        write_report(evaluation, report_dir, title=data.name)
        click.echo(f"report {report_dir}")


def _cross_validate(settings: Settings, data: Path, folds: int, strategy: str | None) -> None:
    from fusiondesk.service.training import TrainingOptions, featurize, load_dataset
    from fusiondesk.service.training.experiments import cross_validate, mean_and_std
    from fusiondesk.service.understanding.wiring import build_registry

    dataset = load_dataset(data)
    with quiet_per_clip_logs():
        features = featurize(dataset, build_registry(settings), settings.cache_dir)
    options = TrainingOptions.model_validate({"strategy": strategy} if strategy else {})
    results = cross_validate(features, dataset.intents, options, folds)
    for result in results:
        click.echo(f"fold {result['fold']}: accuracy {result['accuracy']:.4f}")
    for metric in ("accuracy", "macro_f1"):
        mean, std = mean_and_std(results, metric)
        click.echo(f"{metric} {mean:.4f} ± {std:.4f} ({folds}-fold)")


@click.command()
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
    from fusiondesk.service.understanding.wiring import build_registry

    settings = settings_from()
    if multilingual:
        settings.plugins.setdefault("text", {})["multilingual"] = True
    registry = build_registry(settings)
    train_set, test_set = load_dataset(train_data), load_dataset(test_data)
    test_texts = [example.inputs.get("text", "") for example in test_set.examples]
    validation = None
    with quiet_per_clip_logs():
        train = (featurize(train_set, registry, settings.cache_dir), train_set.intents)
        test = (featurize(test_set, registry, settings.cache_dir), test_set.intents, test_texts)
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
