"""The ``fusiondesk`` command line: the main group; each command lives in its own module.

The group imports a command only when it is run or listed, so ``fusiondesk --help`` loads
neither torch nor FastAPI. Other installed packages add commands through the
``fusiondesk.commands`` entry points (the workers' ``worker``, ``status``, ``dead-letters``).
"""

from __future__ import annotations

import logging
from typing import Any

import click

from fusiondesk.service.cli.lazy import LazyGroup

COMMAND_ENTRY_POINTS = "fusiondesk.commands"

CORE_COMMANDS = {
    "serve": "fusiondesk.service.cli.serving:serve",
    "keys": "fusiondesk.service.cli.serving:keys",
    "train": "fusiondesk.service.cli.training:train",
    "vocabulary": "fusiondesk.service.cli.training:vocabulary",
    "evaluate": "fusiondesk.service.cli.evaluation:evaluate",
    "compare": "fusiondesk.service.cli.evaluation:compare",
    "classify": "fusiondesk.service.cli.models:classify",
    "plugins": "fusiondesk.service.cli.models:plugins",
    "knowledge": "fusiondesk.service.cli.knowledge:knowledge",
    "batch": "fusiondesk.service.cli.batch:batch",
    "synth": "fusiondesk.service.cli.synth:synth",
    "plugin": "fusiondesk.service.cli.scaffold:plugin",
}
"""The core's commands by name, as ``"module:attribute"``; imported on first use."""


class CliGroup(LazyGroup):
    """Turns fusiondesk's own errors into one readable line (exit code 1), not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own (usage errors, --help): click reports them
        except Exception as error:
            if isinstance(error, _readable_errors()):
                raise click.ClickException(str(error)) from error
            raise


def _readable_errors() -> tuple[type[Exception], ...]:
    """Imported on an error only: the plugin SDK's package pulls in numpy."""
    from fusiondesk.plugins.errors import PluginError
    from fusiondesk.service.errors import FusionDeskError

    return FusionDeskError, PluginError


@click.group(cls=CliGroup, lazy_commands=CORE_COMMANDS, entry_point_group=COMMAND_ENTRY_POINTS)
@click.version_option(package_name="fusiondesk")
def main() -> None:
    """fusiondesk: multimodal customer-service backend."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
