"""Labelled datasets for training and evaluation.

Readers:
* JSONL: one object per line with ``intent`` and one or more part fields, e.g.
  ``{"text": "where is my parcel", "intent": "order_status"}``; a field named after a non-text
  part type (``audio``, ``image``, a plugin's own) holds a file path, relative to the file;
* CSV with a header ``text,category`` (BANKING77) or ``text,intent``;
* CLINC150 JSON (``data_full.json``): name the split after ``#`` (``data_full.json#test``,
  default ``train``; ``evaluate`` defaults to ``test``, see ``evaluation_path``); its
  ``oos_<split>`` rows join as the ``out_of_scope`` intent;
* a folder layout ``intent_name/*.txt|wav|png``: one example per file, the folder names the
  intent (``.txt`` holds text, audio and image files become ``audio`` / ``image`` parts).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fusiondesk.plugins import Part
from fusiondesk.service.errors import DatasetError

RESERVED_FIELDS = frozenset({"intent", "id"})
OUT_OF_SCOPE_INTENT = "out_of_scope"
"""The intent name the readers give to a data set's own out-of-scope rows (CLINC150 ``oos``)."""
CLINC_SPLITS = ("train", "val", "test")
FOLDER_PART_TYPES = {
    ".txt": "text",
    ".wav": "audio",
    ".mp3": "audio",
    ".flac": "audio",
    ".ogg": "audio",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".webp": "image",
}


@dataclass(frozen=True)
class Example:
    """One labelled row: its intent and its inputs keyed by part type (text or a file path)."""

    intent: str
    inputs: dict[str, str]
    base_dir: Path

    def parts(self) -> list[Part]:
        parts = []
        for part_type, value in self.inputs.items():
            if part_type == "text":
                parts.append(Part("text", text=value))
                continue
            path = (self.base_dir / value).resolve()
            try:
                data = path.read_bytes()
            except OSError as error:
                raise DatasetError(f"Cannot read {part_type} file {path}: {error}") from error
            parts.append(Part(part_type, data=data, filename=path.name))
        return parts


@dataclass(frozen=True)
class Dataset:
    examples: list[Example]
    source: Path
    digest: str
    """sha256 of the source file(s): recorded in trained models, keys the embedding cache."""

    @property
    def intents(self) -> list[str]:
        return [example.intent for example in self.examples]

    def __len__(self) -> int:
        return len(self.examples)


def load_dataset(path: Path) -> Dataset:
    """Read a labelled data set; ``path`` may end in ``#split`` for CLINC150 JSON files."""
    location, _, split = str(path).partition("#")
    source = Path(location)
    if not source.exists():
        raise DatasetError(f"No dataset at {source}.")
    suffix = source.suffix.lower()
    if source.is_dir():
        examples = list(_read_folder(source))
        digest = _folder_digest(source)
    elif suffix in {".jsonl", ".ndjson"}:
        examples = list(_read_jsonl(source))
    elif suffix == ".csv":
        examples = list(_read_csv(source))
    elif suffix == ".json":
        split = split or "train"
        examples = list(_read_clinc(source, split))
    else:
        raise DatasetError(
            f"Unknown dataset format {source.name!r}: use .jsonl (text/audio/image + intent), "
            ".csv (text,category), CLINC150 .json or a folder of intent_name/ folders."
        )
    if not examples:
        raise DatasetError(f"{source} holds no examples.")
    if not source.is_dir():
        digest = _file_digest(source)
    if split:
        digest = hashlib.sha256(f"{digest}#{split}".encode()).hexdigest()
    return Dataset(examples, source, digest)


def evaluation_path(path: Path) -> Path:
    """The data to score a model on: a CLINC150 JSON named without a split means its test
    split (its train split is what models learn from, so scoring it says nothing)."""
    location, _, split = str(path).partition("#")
    if split or Path(location).suffix.lower() != ".json":
        return path
    return Path(f"{location}#test")


def _read_clinc(path: Path, split: str) -> Iterable[Example]:
    if split not in CLINC_SPLITS:
        raise DatasetError(
            f"{path}: unknown split {split!r}; use one of {', '.join(CLINC_SPLITS)}."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DatasetError(f"{path}: not valid JSON ({error.msg}).") from error
    if not isinstance(data, dict) or split not in data:
        raise DatasetError(f"{path}: expected CLINC150 keys {', '.join(CLINC_SPLITS)}.")
    for key in (split, f"oos_{split}"):
        for number, row in enumerate(data.get(key, [])):
            if not (isinstance(row, list) and len(row) == 2):
                raise DatasetError(f"{path}#{key}[{number}]: expected [text, intent].")
            text, intent = row
            intent = OUT_OF_SCOPE_INTENT if key.startswith("oos_") else intent
            yield _example({"text": text, "intent": intent}, path, f"{path}#{key}[{number}]")


def _read_folder(root: Path) -> Iterable[Example]:
    for intent_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(intent_dir.iterdir()):
            part_type = FOLDER_PART_TYPES.get(file.suffix.lower())
            if part_type is None:
                continue
            value = file.read_text(encoding="utf-8") if part_type == "text" else file.name
            row = {part_type: value, "intent": intent_dir.name}
            yield _example(row, file, str(file))  # paths resolve next to the file


def _read_jsonl(path: Path) -> Iterable[Example]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetError(f"{path}:{number}: not valid JSON ({error.msg}).") from error
            yield _example(row, path, f"{path}:{number}")


def _read_csv(path: Path) -> Iterable[Example]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or ())
        label = "category" if "category" in fields else "intent"
        if "text" not in fields or label not in fields:
            raise DatasetError(f"{path}: a CSV needs the columns text and category (or intent).")
        for number, row in enumerate(reader, start=2):
            yield _example({"text": row["text"], "intent": row[label]}, path, f"{path}:{number}")


def _example(row: object, path: Path, where: str) -> Example:
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: expected an object with an 'intent' field.")
    intent = row.get("intent")
    if not isinstance(intent, str) or not intent.strip():
        raise DatasetError(f"{where}: missing or empty 'intent'.")
    inputs = {
        key: value
        for key, value in row.items()
        if key not in RESERVED_FIELDS and isinstance(value, str) and value.strip()
    }
    if not inputs:
        raise DatasetError(f"{where}: no input field (text, audio, image, ...).")
    return Example(intent.strip(), inputs, path.parent)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _folder_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode())
        digest.update(_file_digest(file).encode())
    return digest.hexdigest()
