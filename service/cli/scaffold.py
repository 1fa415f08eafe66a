"""The ``fusiondesk plugin`` command group: tools for plugin authors.

Here rather than in ``service/scaffold/``: importing that package imports the plugin SDK
(and numpy), which listing the commands must not wait for.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def plugin() -> None:
    """Create modality plugins (`fusiondesk plugins` lists the installed ones)."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the package folder.",
)
@click.option("--modality", help="The modality it handles (default: NAME).")
@click.option("--part-type", help="The message part type it claims (default: NAME).")
def new(name: str, parent: Path, modality: str | None, part_type: str | None) -> None:
    """Scaffold an installable plugin package for a new modality called NAME."""
    from fusiondesk.service.scaffold import scaffold_plugin

    target = scaffold_plugin(name, parent, modality=modality, part_type=part_type)
    click.echo(f"Created {target}")
    click.echo("Next:")
    for command, why in (
        (f"pip install -e {target}", "registers the plugin"),
        (f"pytest {target}", "the SDK's contract tests and the plugin's own"),
        ("fusiondesk plugins", "lists it"),
    ):
        click.echo(f"  {command:<60} # {why}")
