"""The built wheel installs everything under ``fusiondesk.*`` and nothing under a generic name.

The wheel is built from the repository (setuptools maps ``service/``, ``plugins/`` and
``workers/`` to ``fusiondesk.service`` ...) and installed without dependencies into a fresh
venv; that venv reads the third-party packages from the test venv through a path entry placed
after its own site-packages, so its own ``fusiondesk`` is the one imported.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.paths import ROOT

pytestmark = pytest.mark.integration


def _run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
        "-w", out, ROOT,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("fusiondesk-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("venv")
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    python = venv / "bin" / "python"
    installed = _run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel)
    assert installed.returncode == 0, installed.stderr
    own_site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(own_site.stdout.strip()) / "zz-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    yield python


def test_the_wheel_holds_only_the_fusiondesk_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"fusiondesk"}
    for expected in (
        "fusiondesk/__init__.py",
        "fusiondesk/plugins/base.py",
        "fusiondesk/service/understanding/router.py",
        "fusiondesk/service/demo/domain.yaml",
        "fusiondesk/service/widget/demo.html",
        "fusiondesk/workers/worker.py",
        "fusiondesk/py.typed",
    ):
        assert expected in names


def test_installed_names_import_and_generic_names_do_not(
    fresh_python: Path, tmp_path: Path
) -> None:
    imported = _run(
        fresh_python,
        "-c",
        "import fusiondesk.plugins, fusiondesk.service, fusiondesk.workers, fusiondesk;"
        "print(fusiondesk.ModalityPlugin.__module__, fusiondesk.service.__file__)",
        cwd=tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
    module, location = imported.stdout.split()
    assert module == "fusiondesk.plugins.base"
    assert str(ROOT) not in location  # the wheel's copy, not the checkout
    for generic in ("service", "plugins", "workers"):
        missing = _run(fresh_python, "-c", f"import {generic}", cwd=tmp_path)
        assert missing.returncode != 0
        assert f"No module named '{generic}'" in missing.stderr


def test_a_plugin_on_the_old_import_path_is_refused_with_the_new_one(
    fresh_python: Path, tmp_path: Path
) -> None:
    (tmp_path / "old_plugin.py").write_text("from plugins import ModalityPlugin\n")
    script = textwrap.dedent(
        """
        from importlib.metadata import EntryPoint
        from fusiondesk.plugins import PluginRegistrationError, registry
        try:
            registry._load_entry_point(EntryPoint("old", "old_plugin:Old", "fusiondesk.plugins"))
        except PluginRegistrationError as error:
            print(error)
        """
    )
    refused = _run(fresh_python, "-c", script, cwd=tmp_path)
    assert refused.returncode == 0, refused.stderr
    assert "renamed to 'fusiondesk.plugins'" in refused.stdout
    assert "from fusiondesk import ModalityPlugin" in refused.stdout
