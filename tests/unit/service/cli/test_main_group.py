"""The main group: commands load on look-up, and other packages add theirs by entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

import click
import pytest

from fusiondesk.service.cli import COMMAND_ENTRY_POINTS, CORE_COMMANDS, main
from fusiondesk.service.cli.lazy import LazyGroup

HEAVY_MODULES = ("torch", "fastapi", "numpy", "transformers", "celery")
WORKER_COMMANDS = ("worker", "status", "dead-letters")


def _modules_after(statements: str) -> tuple[str, set[str]]:
    """Run ``statements`` in a fresh interpreter: its stdout, and the modules it imported."""
    script = f"import json, sys\n{statements}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    *output, modules = done.stdout.splitlines()
    return "\n".join(output), set(json.loads(modules))


def test_help_lists_every_command_without_importing_torch_or_fastapi() -> None:
    output, modules = _modules_after(
        "from fusiondesk.service.cli import main\nmain(['--help'], standalone_mode=False)"
    )
    listed = {line.split()[0] for line in output.split("Commands:")[1].splitlines() if line}
    assert listed == {*CORE_COMMANDS, *WORKER_COMMANDS}
    assert modules.isdisjoint(HEAVY_MODULES)


def test_core_commands_import_nothing_of_the_workers_or_heavy_libraries() -> None:
    imports = "\n".join(
        f"import {target.partition(':')[0]}" for target in sorted(set(CORE_COMMANDS.values()))
    )
    _, modules = _modules_after(imports)
    assert not {name for name in modules if name.startswith("fusiondesk.workers")}
    assert modules.isdisjoint(HEAVY_MODULES)


def test_worker_commands_come_from_the_workers_package_through_entry_points() -> None:
    installed = {point.name: point.value for point in entry_points(group=COMMAND_ENTRY_POINTS)}
    assert set(WORKER_COMMANDS) <= set(installed)
    assert set(WORKER_COMMANDS).isdisjoint(CORE_COMMANDS)  # not listed by the core itself
    with click.Context(main) as ctx:
        assert set(WORKER_COMMANDS) <= set(main.list_commands(ctx))
        for name in WORKER_COMMANDS:
            command = main.get_command(ctx, name)
            assert command is not None and command.callback is not None
            assert command.callback.__module__ == "fusiondesk.workers.cli"


def _group(**lazy_commands: str) -> LazyGroup:
    return LazyGroup("test", lazy_commands=lazy_commands, entry_point_group=COMMAND_ENTRY_POINTS)


def test_a_core_command_wins_over_an_installed_one_of_the_same_name() -> None:
    group = _group(worker="fusiondesk.service.cli.serving:serve")
    with click.Context(group) as ctx:
        command = group.get_command(ctx, "worker")
    assert command is not None and command.name == "serve"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("fusiondesk.no_such_module:command", "failed to load"),
        ("fusiondesk.service.cli.serving:no_such_command", "failed to load"),
        ("fusiondesk.service.cli.common:settings_from", "is not a command"),
    ],
)
def test_a_command_that_cannot_load_is_one_readable_error(target: str, message: str) -> None:
    group = _group(broken=target)
    with click.Context(group) as ctx, pytest.raises(click.ClickException) as raised:
        group.get_command(ctx, "broken")
    assert message in raised.value.message and target in raised.value.message
