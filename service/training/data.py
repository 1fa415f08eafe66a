"""Labelled datasets for training and evaluation.

Readers:
* JSONL: one object per line with ``intent`` and one or more part fields, e.g.
  ``{"text": "where is my parcel", "intent": "order_status"}``; a field named after a non-text
  part type (``audio``, ``image``, a plugin's own) holds a file path, relative to the file;
* CSV with a header ``text,category`` (BANKING77) or ``text,intent``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from plugins import Part
from service.errors import DatasetError

RESERVED_FIELDS = frozenset({"intent", "id"})


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
    if not path.exists():
        raise DatasetError(f"No dataset at {path}.")
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        examples = list(_read_jsonl(path))
    elif suffix == ".csv":
        examples = list(_read_csv(path))
    else:
        raise DatasetError(
            f"Unknown dataset format {path.name!r}: use .jsonl (text/audio/image + intent) or "
            ".csv (text,category)."
        )
    if not examples:
        raise DatasetError(f"{path} holds no examples.")
    return Dataset(examples, path, _file_digest(path))


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
