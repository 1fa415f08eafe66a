"""The bundled demo domain: an online shop's customer-service intents and replies."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.replies.domain import copy_domain
from fusiondesk.service.training import TrainingOptions, train_from_file
from fusiondesk.service.understanding.fusion.domain_words import DOMAIN_WORDS_FILE
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE

DEMO_DIR = Path(__file__).parent
DEMO_INTENTS = DEMO_DIR / "intents.jsonl"
DEMO_DOMAIN = DEMO_DIR / "domain.yaml"
SOURCE_STAMP = "demo-source.sha256"
"""Beside the trained demo model: the digest of the intents and domain it was built from."""


def demo_source_digest() -> str:
    digest = hashlib.sha256()
    for path in (DEMO_INTENTS, DEMO_DOMAIN):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_demo_model(
    model_dir: Path, registry: PluginRegistry, cache_dir: Path | None, *, progress: bool = True
) -> bool:
    """Train the demo model into ``model_dir`` unless an up-to-date one is there.

    Up to date means built from the bundled intents and domain as they are now: after an
    upgrade changes them (new intents, a knowledge section), the old demo is rebuilt rather
    than served with a stale domain. True if it trained.
    """
    stamp = model_dir / SOURCE_STAMP
    digest = demo_source_digest()
    if (
        (model_dir / CONFIG_FILE).is_file()
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8").strip() == digest
        and (model_dir / DOMAIN_WORDS_FILE).is_file()  # older demos lack the voice hint
    ):
        return False
    train_from_file(
        DEMO_INTENTS,
        model_dir,
        registry,
        TrainingOptions(),
        cache_dir=cache_dir,
        progress=progress,
    )
    copy_domain(DEMO_DOMAIN, model_dir)
    stamp.write_text(digest + "\n", encoding="utf-8")
    return True
