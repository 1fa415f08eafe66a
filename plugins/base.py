"""The modality plugin contract.

A plugin turns one kind of message part (text, audio, image, ...) into fixed-size embedding
*slots* that the fusion model consumes. Its life has two halves that may run in different
processes:

* ``preprocess`` is cheap and runs where the message arrives (the API process): it validates
  and decodes the part and returns a serialisable *payload*;
* ``encode`` is model-bound and batched: it may run inline or in a Celery worker, so payloads
  cross a process boundary and must be msgpack/JSON-serialisable (``bytes`` allowed).
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict

from fusiondesk.plugins.errors import PluginError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

Payload = dict[str, Any]
"""What ``preprocess`` hands to ``encode``: str, int, float, bool, None, bytes, lists and dicts."""


@dataclass(frozen=True)
class SlotSpec:
    """One embedding a plugin produces.

    ``space`` names the vector space the slot lives in; slots of one space are interchangeable,
    which is how a model trained on typed text also understands transcripts and OCR text.
    """

    name: str
    dim: int
    space: str | None = None


@dataclass(frozen=True)
class Part:
    """One piece of a customer's message, as the service received it."""

    type: str
    text: str | None = None
    data: bytes | None = None
    media_type: str | None = None
    filename: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Encoding:
    """A plugin's output for one payload.

    ``slots`` maps slot names to float32 vectors; a plugin may leave out a slot it has nothing
    for (an image without text has no OCR slot). ``details`` are JSON-serialisable facts worth
    showing the customer or the operator (a transcript, its language, OCR lines).
    """

    slots: dict[str, np.ndarray]
    details: dict[str, Any] = field(default_factory=dict)


class PluginConfig(BaseModel):
    """Base of each plugin's settings; unknown keys are refused so typos surface at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModalityPlugin(ABC):
    """Subclass this, fill in the class attributes, implement ``preprocess`` and ``encode``.

    Register the class under the ``fusiondesk.plugins`` entry-point group.
    """

    name: ClassVar[str]
    """Unique plugin name (lowercase identifier)."""
    modality: ClassVar[str]
    """The modality the plugin handles, e.g. ``text``, ``voice``, ``image``."""
    part_types: ClassVar[tuple[str, ...]]
    """Message part types this plugin claims; each type is claimed by exactly one plugin."""
    slots: tuple[SlotSpec, ...]
    """Embedding slots the plugin produces: a class attribute, which a plugin whose widths follow
    its settings (the voice plugin's Whisper size) may replace per instance in ``__init__``."""
    version: ClassVar[str] = "1"
    """Bump when embeddings change, so caches and trained models notice."""
    max_batch_size: ClassVar[int] = 32
    """Dynamic batching: the most payloads ``encode`` receives at once."""
    max_wait_ms: ClassVar[float] = 5.0
    """Dynamic batching: how long a batcher may hold a request to fill a batch."""
    queue: ClassVar[str] = "gpu"
    """Celery queue that runs ``encode``: ``gpu`` for model-bound work, ``cpu`` for light work
    (decoding, OCR) that should not wait behind GPU batches. Ignored by the inline executor."""
    Config: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, config: PluginConfig | None = None, *, device: str = "cpu") -> None:
        self.config = config if config is not None else self.Config()
        self.device = device
        self._loaded = False
        self._load_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------------
    def setup(self) -> None:
        """Load models and other heavy resources. Called once, lazily, before the first encode.

        The default loads nothing, for plugins without a model.
        """
        return None

    def load(self) -> None:
        """Run ``setup`` once; safe to call from several threads."""
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                self.setup()
                self._loaded = True

    @property
    def loaded(self) -> bool:
        return self._loaded

    # -- the contract --------------------------------------------------------------------------
    @abstractmethod
    def preprocess(self, part: Part) -> Payload:
        """Validate and decode one part cheaply; raise an ``InputError`` subclass if unusable."""
        raise NotImplementedError("The 'preprocess' method must be implemented.")

    @abstractmethod
    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        """Encode a batch of payloads (at most ``max_batch_size``), one ``Encoding`` each."""
        raise NotImplementedError("The 'encode' method must be implemented.")

    def fingerprint(self) -> str:
        """Identifies the embeddings this plugin produces (for caches and trained models)."""
        return f"{self.name}:{self.version}:{self.config.model_dump_json()}"

    # -- called by the framework ---------------------------------------------------------------
    def embed(self, payloads: Sequence[Payload]) -> list[Encoding]:
        """Load if needed, encode, and check the result against the declared slots."""
        self.load()
        encodings: list[Encoding] = []
        for start in range(0, len(payloads), self.max_batch_size):
            encodings.extend(self.encode(payloads[start : start + self.max_batch_size]))
        if len(encodings) != len(payloads):
            raise PluginError(
                f"Plugin {self.name!r} returned {len(encodings)} encodings "
                f"for {len(payloads)} payloads"
            )
        dims = {slot.name: slot.dim for slot in self.slots}
        for encoding in encodings:
            for slot_name, vector in encoding.slots.items():
                if slot_name not in dims:
                    raise PluginError(
                        f"Plugin {self.name!r} produced undeclared slot {slot_name!r}"
                    )
                if vector.shape != (dims[slot_name],):
                    raise PluginError(
                        f"Plugin {self.name!r} slot {slot_name!r} has shape {vector.shape}, "
                        f"declared ({dims[slot_name]},)"
                    )
                encoding.slots[slot_name] = np.asarray(vector, dtype=np.float32)
        return encodings


@runtime_checkable
class UsesDomainWords(Protocol):
    """A plugin that works better knowing the served model's domain words (a speech recogniser's
    hint). The service hands it the words of each model it serves, at start and on every reload,
    so the plugin needs to know nothing of model directories."""

    def use_domain_words(self, words: Sequence[str]) -> None:
        """Use ``words`` (most frequent first; empty: none known) from now on."""
