"""Turns a dataset into slot matrices with the installed plugins, caching the embeddings.

Embeddings are computed once: the cache key combines each plugin's fingerprint (name, version,
model settings) with the hash of everything it was asked to encode.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from fusiondesk.plugins import InputError, ModalityPlugin, Payload, PluginRegistry, SlotSpec
from fusiondesk.service.errors import DatasetError
from fusiondesk.service.training.data import Dataset


@dataclass
class Features:
    """Per slot: a ``(rows, dim)`` float32 matrix and a ``(rows,)`` presence mask.

    ``parts`` names, per slot, the plugin that filled it (slots of one part of a message come
    and go together); a slot missing there is a part of its own.
    """

    values: dict[str, np.ndarray]
    present: dict[str, np.ndarray]
    specs: dict[str, SlotSpec]
    parts: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.present.values())))

    def rows(self, index: np.ndarray) -> Features:
        return Features(
            {name: matrix[index] for name, matrix in self.values.items()},
            {name: mask[index] for name, mask in self.present.items()},
            self.specs,
            self.parts,
        )

    def concat(self, other: Features) -> Features:
        """These rows followed by ``other``'s; a slot only one side has is absent on the other."""
        specs = self.specs | other.specs
        values, present = {}, {}
        for name, spec in specs.items():
            values[name] = np.concatenate([_slot_values(f, name, spec.dim) for f in (self, other)])
            present[name] = np.concatenate([_slot_present(f, name) for f in (self, other)])
        return Features(values, present, specs, self.parts | other.parts)

    def only(self, slots: list[str] | None) -> Features:
        """These rows with just ``slots`` (all of them for None); rows left empty stay, empty."""
        if slots is None:
            return self
        kept = [name for name in self.specs if name in slots]
        if not kept:
            raise DatasetError(
                f"none of the slots {slots} is in the data (it has {sorted(self.specs)})"
            )
        return Features(
            {name: self.values[name] for name in kept},
            {name: self.present[name] for name in kept},
            {name: self.specs[name] for name in kept},
            {name: part for name, part in self.parts.items() if name in kept},
        )

    def as_slot_dicts(self) -> list[dict[str, np.ndarray]]:
        """One ``{slot: vector}`` dict per row, holding only the slots present in that row."""
        return [
            {name: self.values[name][row] for name in self.values if self.present[name][row]}
            for row in range(len(self))
        ]


def featurize(
    dataset: Dataset, registry: PluginRegistry, cache_dir: Path | None, *, progress: bool = True
) -> Features:
    jobs: defaultdict[str, list[tuple[int, Payload]]] = defaultdict(list)
    for row, example in enumerate(dataset.examples):
        for part in example.parts():
            try:
                plugin = registry.for_part_type(part.type)
                jobs[plugin.name].append((row, plugin.preprocess(part)))
            except InputError as error:
                where = f"{dataset.source} row {row + 1}"
                raise DatasetError(f"{where}: {part.type} input rejected: {error}") from error
    values: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    specs: dict[str, SlotSpec] = {}
    parts: dict[str, str] = {}
    for plugin_name, plugin_jobs in sorted(jobs.items()):
        plugin = registry.get(plugin_name)
        rows = [row for row, _ in plugin_jobs]
        payloads = [payload for _, payload in plugin_jobs]
        slot_values, slot_counts = _embed_cached(
            plugin, payloads, rows, len(dataset), cache_dir, progress=progress
        )
        for spec in plugin.slots:
            if spec.name in slot_values and slot_counts[spec.name].any():
                counts = np.maximum(slot_counts[spec.name], 1)[:, None]
                values[spec.name] = (slot_values[spec.name] / counts).astype(np.float32)
                present[spec.name] = slot_counts[spec.name] > 0
                specs[spec.name] = spec
                parts[spec.name] = plugin_name
    if not values:
        raise DatasetError(f"{dataset.source}: no plugin produced any embedding.")
    return Features(values, present, specs, parts)


def _embed_cached(
    plugin: ModalityPlugin,
    payloads: list[Payload],
    rows: list[int],
    n_rows: int,
    cache_dir: Path | None,
    *,
    progress: bool,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Sum of each slot's vectors per row and how many parts filled it (so rows can average)."""
    key = _cache_key(plugin, payloads, rows)
    path = cache_dir / f"{plugin.name}-{key}.npz" if cache_dir is not None else None
    if path is not None and path.is_file():
        with np.load(path) as stored:
            sums = {name[4:]: stored[name] for name in stored.files if name.startswith("sum_")}
            counts = {name[4:]: stored[name] for name in stored.files if name.startswith("cnt_")}
            return sums, counts
    sums = {spec.name: np.zeros((n_rows, spec.dim), dtype=np.float32) for spec in plugin.slots}
    counts = {spec.name: np.zeros(n_rows, dtype=np.int32) for spec in plugin.slots}
    step = plugin.max_batch_size
    with tqdm(
        total=len(payloads), desc=f"embedding {plugin.name}", unit="part", disable=not progress
    ) as bar:
        for start in range(0, len(payloads), step):
            batch = payloads[start : start + step]
            for row, encoding in zip(rows[start : start + step], plugin.embed(batch), strict=True):
                for name, vector in encoding.slots.items():
                    sums[name][row] += vector
                    counts[name][row] += 1
            bar.update(len(batch))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"sum_{n}": a for n, a in sums.items()} | {
            f"cnt_{n}": c for n, c in counts.items()
        }
        np.savez(path, **arrays)
    return sums, counts


def _cache_key(plugin: ModalityPlugin, payloads: list[Payload], rows: list[int]) -> str:
    digest = hashlib.sha256(plugin.fingerprint().encode())
    for row, payload in zip(rows, payloads, strict=True):
        digest.update(str(row).encode())
        for name in sorted(payload):
            value = payload[name]
            digest.update(name.encode())
            digest.update(
                value if isinstance(value, bytes) else json.dumps(value, default=_hex).encode()
            )
    return digest.hexdigest()[:32]


def _hex(value: object) -> str:
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    raise TypeError(f"payload value of type {type(value).__name__} is not serialisable")


def _slot_values(features: Features, name: str, dim: int) -> np.ndarray:
    if name in features.values:
        return features.values[name]
    return np.zeros((len(features), dim), dtype=np.float32)


def _slot_present(features: Features, name: str) -> np.ndarray:
    return features.present.get(name, np.zeros(len(features), dtype=bool))
