"""The knowledge index: a LangChain vector store kept on disk, rebuilt only when files change.

Each knowledge base (a set of files) gets a folder under the index directory holding the
dumped ``InMemoryVectorStore`` and a manifest with the hash of the files' contents and of
the encoder. Opening the index compares hashes: equal → load the vectors, different →
re-embed and write (atomically, so two processes starting together never read half a file).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.vectorstores import InMemoryVectorStore

from fusiondesk.service.replies.knowledge.documents import load_entries
from fusiondesk.service.replies.knowledge.embeddings import EncoderEmbeddings

logger = logging.getLogger(__name__)

INDEX_FORMAT = 2
"""Bumped when the entry splitting or the stored layout changes, so old indexes rebuild."""
STORE_FILE = "store.json"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class OpenedIndex:
    store: InMemoryVectorStore
    entries: int
    rebuilt: bool
    directory: Path


def open_index(
    files: Sequence[Path], embeddings: EncoderEmbeddings, index_root: Path
) -> OpenedIndex:
    """The vector store over ``files``: loaded from disk when up to date, else built."""
    files = sorted(file.resolve() for file in files)
    directory = index_root / _digest("\n".join(map(str, files)))[:16]
    content_hash = _content_hash(files, embeddings.identity)
    manifest = _read_manifest(directory / MANIFEST_FILE)
    if manifest.get("content_hash") == content_hash and (directory / STORE_FILE).is_file():
        store = InMemoryVectorStore.load(str(directory / STORE_FILE), embeddings)
        entries = manifest.get("entries")
        return OpenedIndex(store, entries if isinstance(entries, int) else 0, False, directory)

    documents = load_entries(files)
    store = InMemoryVectorStore(embeddings)
    if documents:
        store.add_documents(documents, ids=[entry.metadata["entry_id"] for entry in documents])
    directory.mkdir(parents=True, exist_ok=True)
    with _replacing(directory / STORE_FILE) as temporary:
        store.dump(str(temporary))
    with _replacing(directory / MANIFEST_FILE) as temporary:
        temporary.write_text(
            json.dumps(
                {
                    "content_hash": content_hash,
                    "entries": len(documents),
                    "files": [str(file) for file in files],
                    "encoder": embeddings.identity,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    logger.info("knowledge index rebuilt: %d entries from %d files", len(documents), len(files))
    return OpenedIndex(store, len(documents), True, directory)


def _content_hash(files: Sequence[Path], encoder_identity: str) -> str:
    digest = hashlib.sha256(f"format={INDEX_FORMAT}\nencoder={encoder_identity}\n".encode())
    for file in files:
        digest.update(f"{file}\n".encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read_manifest(path: Path) -> dict[str, object]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


class _replacing:
    """A temporary file beside ``target`` that replaces it on success, vanishes on failure."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> Path:
        handle, name = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.")
        os.close(handle)
        self.temporary = Path(name)
        return self.temporary

    def __exit__(self, error_type: object, error: object, traceback: object) -> None:
        if error_type is None:
            os.replace(self.temporary, self.target)
        else:
            self.temporary.unlink(missing_ok=True)
