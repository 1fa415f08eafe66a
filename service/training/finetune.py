"""End-to-end fine-tuning of the sentence encoder on the intent labels.

Plain supervised fine-tuning: the encoder's mean-pooled, normalised embedding feeds a cosine
classifier (a scaled dot product with normalised class weights), trained with label-smoothed
cross-entropy. The cosine head keeps the geometry the fusion head later reads: intents end up
as tight, well-separated directions of the same unit sphere. Mixed precision on CUDA.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, Field
from torch import nn
from tqdm.auto import tqdm

from fusiondesk.plugins.text.encoder import SentenceEncoder


class FinetuneOptions(BaseModel):
    epochs: int = Field(default=3, ge=1)
    batch_size: int = Field(default=32, ge=2)
    learning_rate: float = Field(default=1e-4, gt=0, description="Encoder learning rate.")
    head_learning_rate: float = Field(default=1e-2, gt=0)
    warmup_fraction: float = Field(default=0.1, ge=0, lt=1)
    label_smoothing: float = Field(default=0.1, ge=0, lt=1)
    scale: float = Field(default=20.0, gt=0, description="Cosine-classifier logit scale.")
    max_length: int = Field(default=64, ge=8, description="Token limit while fine-tuning.")
    seed: int = 13


class CosineHead(nn.Module):
    def __init__(self, dim: int, classes: int, scale: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(classes, dim) * 0.05)
        self.scale = scale

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.scale * embeddings @ nn.functional.normalize(self.weight, dim=-1).T


def cached_finetuned_encoder(
    base_path: Path,
    texts: Sequence[str],
    labels: Sequence[str],
    options: FinetuneOptions,
    cache_dir: Path,
    *,
    device: str = "cpu",
    progress: bool = True,
) -> Path:
    """The encoder fine-tuned on exactly these rows with these options, trained at most once.

    Fine-tuning takes minutes to hours on a CPU; the result is kept under
    ``cache_dir/finetuned/<key>``, keyed by the base encoder, the rows and the options.
    """
    digest = hashlib.sha256(str(base_path.resolve()).encode())
    digest.update(options.model_dump_json().encode())
    digest.update(json.dumps([list(texts), list(labels)]).encode())
    target = cache_dir / "finetuned" / digest.hexdigest()[:32]
    if not (target / "config.json").is_file():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        metrics = finetune_encoder(
            base_path, texts, labels, partial, options, device=device, progress=progress
        )
        (partial / "finetune_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target


def finetune_encoder(
    base_path: Path,
    texts: Sequence[str],
    labels: Sequence[str],
    out_path: Path,
    options: FinetuneOptions,
    *,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, float]:
    """Fine-tune the encoder at ``base_path`` on ``texts``/``labels``; save it to ``out_path``."""
    started = time.perf_counter()
    torch.manual_seed(options.seed)
    encoder = SentenceEncoder(base_path, device=device, max_length=options.max_length)
    intents = sorted(set(labels))
    targets = torch.tensor([intents.index(label) for label in labels])
    head = CosineHead(encoder.dim, len(intents), options.scale).to(encoder.device)
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": options.learning_rate},
            {"params": head.parameters(), "lr": options.head_learning_rate},
        ],
        weight_decay=0.01,
    )
    steps_per_epoch = math.ceil(len(texts) / options.batch_size)
    total_steps = options.epochs * steps_per_epoch
    warmup = max(int(total_steps * options.warmup_fraction), 1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / total_steps)),
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=options.label_smoothing)
    use_amp = encoder.device.type == "cuda"
    generator = np.random.default_rng(options.seed)
    encoder.train()
    losses: list[float] = []
    bar = tqdm(total=total_steps, desc="fine-tuning encoder", unit="step", disable=not progress)
    for _epoch in range(options.epochs):
        order = generator.permutation(len(texts))
        for start in range(0, len(order), options.batch_size):
            rows = order[start : start + options.batch_size]
            inputs = encoder.tokenize([texts[i] for i in rows])
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                logits = head(encoder(inputs).float())
            loss = loss_fn(logits.float(), targets[rows].to(encoder.device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    bar.close()
    encoder.eval()
    encoder.save(out_path)
    return {
        "finetune_seconds": round(time.perf_counter() - started, 1),
        "finetune_final_loss": float(np.mean(losses[-50:])),
        "finetune_rows": float(len(texts)),
    }
