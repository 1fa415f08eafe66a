"""A click group that imports each command only when it is looked up.

``fusiondesk --help`` and every command would otherwise pay for the imports of all the others
(torch alone takes seconds). A command is named by ``"module:attribute"``, like an entry
point, and its module is imported the first time the group is asked for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import click


class LazyGroup(click.Group):
    """Commands from a table of ``name -> "module:attribute"`` and from an entry-point group.

    The entry-point group lets other installed packages (the Celery workers, a third party)
    add commands the way ``fusiondesk.plugins`` adds plugins, without this package importing
    them. On a name clash the table wins: an installed package cannot replace a core command.
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, str],
        entry_point_group: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)
        self.entry_point_group = entry_point_group

    @cached_property
    def command_sources(self) -> dict[str, EntryPoint]:
        """Where each command is imported from, by command name."""
        own = {
            name: EntryPoint(name=name, value=target, group=self.entry_point_group)
            for name, target in self.lazy_commands.items()
        }
        installed = {point.name: point for point in entry_points(group=self.entry_point_group)}
        return {**installed, **own}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.command_sources})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.command_sources:
            return command
        command = _load(self.command_sources[cmd_name])
        self.add_command(command, cmd_name)  # imported once; later look-ups find it here
        return command


def _load(source: EntryPoint) -> click.Command:
    try:
        command = source.load()
    except (ImportError, AttributeError) as error:  # e.g. a package's missing dependency
        raise click.ClickException(
            f"command {source.name!r} ({source.value}) failed to load: {error}"
        ) from error
    if not isinstance(command, click.Command):
        raise click.ClickException(f"command {source.name!r} ({source.value}) is not a command")
    return command
