"""`fusiondesk plugin new`: the package it writes, and what it refuses."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from fusiondesk.service.cli import main
from fusiondesk.service.scaffold import ScaffoldError, scaffold_plugin


def test_package_is_complete_and_fully_substituted(tmp_path: Path) -> None:
    project = scaffold_plugin("order_ref", tmp_path, modality="structured", part_type="order")
    assert project == tmp_path / "fusiondesk-order-ref"
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "README.md",
        "fusiondesk_order_ref/__init__.py",
        "fusiondesk_order_ref/plugin.py",
        "fusiondesk_order_ref/py.typed",
        "pyproject.toml",
        "tests/test_plugin.py",
    ]
    for path in project.rglob("*"):
        if path.is_file():
            assert "${" not in path.read_text(), path
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "fusiondesk-order-ref"
    assert pyproject["project"]["entry-points"]["fusiondesk.plugins"] == {
        "order_ref": "fusiondesk_order_ref.plugin:OrderRefPlugin"
    }
    plugin_source = (project / "fusiondesk_order_ref" / "plugin.py").read_text()
    ast.parse(plugin_source)
    ast.parse((project / "tests" / "test_plugin.py").read_text())
    assert 'PART_TYPE = "order"' in plugin_source
    assert 'modality = "structured"' in plugin_source and 'name = "order_ref"' in plugin_source
    assert "class OrderRefPlugin(ModalityPlugin):" in plugin_source


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("Order", {}, "plugin name 'Order'"),
        ("ok", {"part_type": "has-dash"}, "part type 'has-dash'"),
        ("ok", {"modality": "9lives"}, "modality '9lives'"),
    ],
)
def test_names_must_be_identifiers(
    tmp_path: Path, name: str, options: dict[str, str], message: str
) -> None:
    with pytest.raises(ScaffoldError, match=message):
        scaffold_plugin(name, tmp_path, **options)
    assert not any(tmp_path.iterdir())


def test_cli_creates_once_then_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(main, ["plugin", "new", "demo_modality", "--dir", str(tmp_path)])
    assert created.exit_code == 0, created.output
    assert f"Created {tmp_path / 'fusiondesk-demo-modality'}" in created.output
    assert "pip install -e" in created.output
    again = runner.invoke(main, ["plugin", "new", "demo_modality", "--dir", str(tmp_path)])
    assert again.exit_code != 0 and "already exists" in again.output
