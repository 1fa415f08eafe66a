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
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

# Never reach for a model hub: every model comes from a local, packaged path.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from transformers import AutoModel, AutoTokenizer  # noqa: E402
from transformers.utils import logging as transformers_logging  # noqa: E402

from fusiondesk.plugins.errors import PluginLoadError  # noqa: E402
from fusiondesk.plugins.text.onnx_graph import OnnxTransformer  # noqa: E402
from fusiondesk.plugins.text.packaged import encoder_width  # noqa: E402
from fusiondesk.plugins.text.packaged import (
    packaged_minilm_path as packaged_minilm_path,  # where it has always been imported from
)

if TYPE_CHECKING:  # importing it costs a second of SciPy and more, for a model built lazily
    from transformers import PreTrainedModel

# Loading a packaged model is instant; its per-weight progress bar is noise in server logs.
transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


CALL_COST_TOKENS = 32
"""A forward pass's fixed cost, in tokens' worth of batch work. Measured on 2 CPU cores over
varied batches of 32 BANKING77 texts: 8, 16 and 32 gave 1.29, 1.28 and 1.24 ms per text,
against 1.84 ms with no split."""

TORCH_MODEL = "torch_model"
"""The torch model's name among the encoder's submodules (its parameters: ``torch_model.*``)."""
GRAPH_EXAMPLE = ("an example sentence", "a second, somewhat longer example sentence to export")
"""Two lengths, so the exported graph keeps batch and sequence length dynamic."""


class SentenceEncoder(nn.Module):
    """A transformer encoder with mean pooling; ``forward`` is differentiable for fine-tuning.

    ``lazy``: build the torch model only when something needs it (training, saving, the torch
    path). Serving on CPU runs an ONNX graph, which a start reads back from the graph cache:
    such an encoder never builds its torch model. Its ``parameters()`` are empty until then, so
    whoever trains asks for an eager one (the default).
    """

    def __init__(
        self,
        model_path: Path,
        *,
        device: str = "cpu",
        max_length: int = 256,
        onnx: bool = True,
        lazy: bool = False,
    ) -> None:
        super().__init__()
        if not (model_path / "config.json").is_file():
            raise PluginLoadError("text", f"no encoder config.json under {model_path}")
        self.model_path = model_path
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
        self.max_length = max_length
        self.dim = encoder_width(model_path)
        # Inference on CPU runs an ONNX Runtime graph of the same weights (see onnx_graph);
        # ``onnx=False`` keeps torch (bench/encoders.py compares the two).
        self.onnx = onnx
        self._device = torch.device(device)
        self._graph: OnnxTransformer | None = None
        self._as_saved = True
        """The weights are the folder's: no training step since (its kept graph holds them)."""
        # Tokenizers and torch modules are not safe to share across threads mid-call.
        self._lock = threading.Lock()
        self._building = threading.Lock()
        if not (lazy and self._serves_from_graph):
            self.transformer  # noqa: B018 - built now: the caller trains or runs torch
        self.eval()

    @property
    def transformer(self) -> PreTrainedModel:
        """The torch model, built on first use (see ``lazy``)."""
        with self._building:
            model = self._modules.get(TORCH_MODEL)
            if model is None:
                model = AutoModel.from_pretrained(str(self.model_path), local_files_only=True)
                model.to(self._device).train(self.training)
                self.add_module(TORCH_MODEL, model)
            return cast("PreTrainedModel", model)

    @property
    def _serves_from_graph(self) -> bool:
        return self._device.type == "cpu" and self.onnx

    def train(self, mode: bool = True) -> SentenceEncoder:
        if mode:  # the weights are about to change: an exported graph would hold the old ones
            self.transformer  # noqa: B018 - built before it trains
            self._as_saved = False
            self._graph = None
        super().train(mode)
        if not mode and self._graph is None and self._serves_from_graph:
            self._graph = self._export_graph()
        return self

    def _export_graph(self) -> OnnxTransformer | None:
        def example() -> dict[str, torch.Tensor]:
            return self.tokenize(GRAPH_EXAMPLE)

        if self._as_saved:
            return OnnxTransformer.from_folder(self.model_path, lambda: self.transformer, example)
        return OnnxTransformer.export(self.transformer, example())

    @property
    def device(self) -> torch.device:
        return self._device

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
        tokens = self._tokens(texts, "np")
        lengths = tokens["attention_mask"].sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # One forward pass pads every text to the longest; texts of very different lengths
        # go through in a few passes of similar lengths instead (padding is right-hand, so
        # cutting the columns keeps every real token).
        for rows in padding_aware_runs(lengths[order], CALL_COST_TOKENS):
            index = order[rows]
            width = int(lengths[index].max())
            out[index] = self._embed_tokens({key: v[index, :width] for key, v in tokens.items()})
        return out

    def _embed_tokens(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        mask: np.ndarray = inputs["attention_mask"][..., None].astype(np.float32)
        if self._graph is None:
            tensors = {
                key: torch.from_numpy(value).to(self.device) for key, value in inputs.items()
            }
            return np.asarray(self.forward(tensors).float().cpu(), dtype=np.float32)
        hidden = self._graph.run(inputs)
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
    return SentenceEncoder(model_path, device=device, lazy=True)


def padding_aware_runs(sorted_lengths: np.ndarray, call_cost: int) -> list[slice]:
    """Cut ascending lengths into runs, one forward pass each, for the least padded work.

    A run costs ``call_cost`` plus its size times its longest length; dynamic programming over
    the cut points finds the cheapest split (a batch is at most a few dozen texts).
    """
    count = len(sorted_lengths)
    best = [0.0] + [float("inf")] * count
    cut = [0] * (count + 1)
    for end in range(1, count + 1):
        for start in range(end):
            cost = best[start] + call_cost + (end - start) * int(sorted_lengths[end - 1])
            if cost < best[end]:
                best[end], cut[end] = cost, start
    runs, end = [], count
    while end > 0:
        runs.append(slice(cut[end], end))
        end = cut[end]
    return runs[::-1]
