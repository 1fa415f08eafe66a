"""`fusiondesk plugin new` → pip install -e → its tests pass → listed → used to classify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fusiondesk.plugins import PluginRegistry
from tests.integration.installs import editable_install

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FUSIONDESK = [sys.executable, "-m", "fusiondesk.service.cli"]
NAME = "demo_modality"
# Order references as a new modality: each intent has its own vocabulary.
ROWS = {
    "refund": [
        "refund order 1001 damaged",
        "refund request for order 2002",
        "money back order 3003 broken",
        "refund order 4004 item damaged",
        "please refund 5005",
    ],
    "tracking": [
        "track parcel 1001 delivery",
        "where is parcel 2002 tracking",
        "delivery status parcel 3003",
        "tracking number for parcel 4004",
        "parcel 5005 not delivered yet",
    ],
    "cancel": [
        "cancel subscription 1001",
        "stop subscription 2002 cancel",
        "cancel my plan 3003",
        "end subscription 4004",
        "cancel plan 5005 now",
    ],
}
HELD_OUT = {
    "refund": ["refund order 9009 damaged"],
    "tracking": ["where is parcel 9009"],
    "cancel": ["cancel subscription 9009"],
}


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def env(fusiondesk_home: Path) -> dict[str, str]:
    return {**os.environ, "FUSIONDESK_HOME": str(fusiondesk_home)}


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, registry: PluginRegistry, env: dict[str, str]
) -> Iterator[Path]:
    parent = tmp_path_factory.mktemp("scaffold")
    created = run(*FUSIONDESK, "plugin", "new", NAME, "--dir", str(parent), env=env)
    assert created.returncode == 0, created.stderr
    project = parent / "fusiondesk-demo-modality"
    assert f"Created {project}" in created.stdout
    with editable_install(project):
        yield project


def write_dataset(directory: Path, rows: dict[str, list[str]]) -> Path:
    """JSONL whose demo_modality field names a text file, as training data names media."""
    directory.mkdir()
    lines = []
    for intent, texts in rows.items():
        for number, text in enumerate(texts):
            (directory / f"{intent}-{number}.txt").write_text(text)
            lines.append(json.dumps({NAME: f"{intent}-{number}.txt", "intent": intent}))
    path = directory / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_scaffold_is_a_lint_clean_package(project: Path) -> None:
    package = project / "fusiondesk_demo_modality"
    for path in ("pyproject.toml", "README.md", "tests/test_plugin.py"):
        assert (project / path).is_file(), path
    assert {p.name for p in package.iterdir()} >= {"__init__.py", "plugin.py", "py.typed"}
    assert (
        'demo_modality = "fusiondesk_demo_modality.plugin:DemoModalityPlugin"'
        in (project / "pyproject.toml").read_text()
    )
    for command in (["format", "--check"], ["check"]):
        linted = run(sys.executable, "-m", "ruff", *command, ".", cwd=project, env=dict(os.environ))
        assert linted.returncode == 0, linted.stdout + linted.stderr


def test_generated_tests_pass(project: Path, env: dict[str, str]) -> None:
    tested = run(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=env
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "7 passed" in tested.stdout  # six contract rules and the plugin's own test


def test_installed_plugin_is_listed(project: Path, env: dict[str, str]) -> None:
    listed = run(*FUSIONDESK, "plugins", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[NAME]["part_types"] == [NAME]
    assert rows[NAME]["slots"] == {f"{NAME}_features": 256}
    assert rows[NAME]["class"] == "fusiondesk_demo_modality.plugin.DemoModalityPlugin"
    assert "text" in rows  # the built-ins are still there


def test_plugin_trains_and_classifies(project: Path, env: dict[str, str], tmp_path: Path) -> None:
    train = write_dataset(tmp_path / "train", ROWS)
    held_out = write_dataset(tmp_path / "held_out", HELD_OUT)
    model = tmp_path / "model"
    trained = run(*FUSIONDESK, "train", str(train), "--out", str(model), "--epochs", "60", env=env)
    assert trained.returncode == 0, trained.stderr
    config = json.loads((model / "config.json").read_text())
    assert [slot["name"] for slot in config["slots"]] == [f"{NAME}_features"]
    assert NAME in config["metadata"]["encoders"]

    evaluated = run(*FUSIONDESK, "evaluate", str(model), str(held_out), env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    figures = dict(line.split() for line in evaluated.stdout.splitlines())
    assert int(figures["rows"]) == 3
    assert float(figures["accuracy"]) == 1.0, evaluated.stdout
