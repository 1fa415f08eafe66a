"""The widget's one served script, bundled from its source fragments."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.widget_size import TARGET_GZIP_BYTES, gzipped_bytes
from fusiondesk.service.widget.bundle import SOURCE_DIR, SOURCES, bundle, main


def test_every_fragment_once_in_order_inside_one_strict_function() -> None:
    script = bundle()
    banner, body = script.split("*/\n", 1)
    assert banner.startswith("/*! fusiondesk chat widget")
    assert body.startswith('(function () {\n"use strict";\n') and body.endswith("})();\n")
    body_start = script.index(body)
    positions = []
    for name in SOURCES:
        fragment = (SOURCE_DIR / name).read_text(encoding="utf-8")
        assert script.count(fragment) == 1, name
        positions.append(script.index(fragment))
    assert body_start < positions[0] and positions == sorted(positions)


def test_every_source_file_is_bundled() -> None:
    """A fragment added to src/ but not to SOURCES would silently never ship."""
    assert sorted(path.name for path in SOURCE_DIR.glob("*.js")) == sorted(SOURCES)
    assert len(set(SOURCES)) == len(SOURCES)


def test_bundle_is_valid_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the browser tests still run the bundle")
    script = tmp_path / "widget.js"
    script.write_text(bundle(), encoding="utf-8")
    checked = subprocess.run([node, "--check", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_bundle_fits_the_download_budget() -> None:
    assert gzipped_bytes(bundle().encode("utf-8")) <= TARGET_GZIP_BYTES


def test_main_writes_the_bundle_for_hosting_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "build" / "widget.js"
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == bundle()
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err
