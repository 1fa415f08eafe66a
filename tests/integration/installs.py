"""Installing a plugin package into the test venv for one test module, then removing it.

``pip install -e --no-deps --no-build-isolation``: no dependency resolution and no build
environment, so it is quick and needs no network. The new entry point is visible to this
process at once but its module is importable only in new processes (editable installs work
through ``.pth`` files, read at interpreter start-up): tests drive the installed plugin
through ``fusiondesk`` subprocesses, and build this process's plugin registry before
installing (the session ``registry`` fixture) so it never meets the half-visible plugin.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]


def _pip(*args: str) -> None:
    done = subprocess.run([*PIP, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@contextlib.contextmanager
def editable_install(project: Path) -> Iterator[str]:
    """Install ``project`` in editable mode; yield its distribution name; uninstall it."""
    distribution = tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]
    # A run killed before its clean-up leaves the package behind (pointing at a deleted temp
    # dir for a scaffold); start from a clean venv whatever happened before.
    _pip("uninstall", "-y", distribution)
    _pip("install", "--no-deps", "--no-build-isolation", "-e", str(project))
    try:
        yield distribution
    finally:
        _pip("uninstall", "-y", distribution)
