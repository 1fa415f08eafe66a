"""The demo model: trained from the bundled intents (and attachment messages) on first use."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.demo import DEMO_DOMAIN, DEMO_INTENTS
from fusiondesk.service.demo.messages import (
    ATTACHMENTS_PER_INTENT,
    DEMO_SLOTS,
    attachment_recipe,
    attachment_samples,
    attachments_possible,
    demo_training_file,
)
from fusiondesk.service.replies.domain import copy_domain
from fusiondesk.service.understanding.fusion.domain_words import DOMAIN_WORDS_FILE
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE

SOURCE_STAMP = "demo-source.sha256"
"""Beside the trained demo model: the digest of the intents, domain and attachment messages it
was built from."""


def demo_source_digest(attachments_per_intent: int = ATTACHMENTS_PER_INTENT) -> str:
    digest = hashlib.sha256()
    for path in (DEMO_INTENTS, DEMO_DOMAIN):
        digest.update(path.read_bytes())
    if attachments_per_intent:
        recipe = attachment_recipe(attachment_samples(DEMO_INTENTS, attachments_per_intent))
        digest.update(f"{recipe} {DEMO_SLOTS}".encode())
    return digest.hexdigest()


def ensure_demo_model(
    model_dir: Path,
    registry: PluginRegistry,
    cache_dir: Path | None,
    *,
    progress: bool = True,
    attachments_per_intent: int | None = None,
) -> bool:
    """Train the demo model into ``model_dir`` unless an up-to-date one is there.

    Up to date means built from the bundled intents, domain and attachment messages as they
    are now: after an upgrade changes them (new intents, a knowledge section), the old demo is
    rebuilt rather than served with a stale domain. The demo trains on its texts plus
    ``attachments_per_intent`` messages with a voice note and a screenshot per intent
    (None: ``ATTACHMENTS_PER_INTENT``; the test suite asks for fewer, to stay fast); without
    espeak-ng it trains on its texts alone, and is rebuilt with attachments once espeak-ng is
    there. True if it trained.
    """
    if attachments_per_intent is None:
        attachments_per_intent = ATTACHMENTS_PER_INTENT
    per_intent = attachments_per_intent if attachments_possible() else 0
    stamp = model_dir / SOURCE_STAMP
    digest = demo_source_digest(per_intent)
    if (
        (model_dir / CONFIG_FILE).is_file()
        and stamp.is_file()
        and stamp.read_text(encoding="utf-8").strip() == digest
        and (model_dir / DOMAIN_WORDS_FILE).is_file()  # older demos lack the voice hint
    ):
        return False
    # Imported only to train: ``fusiondesk serve`` calls this at every start (see synth.voice).
    from fusiondesk.service.training import TrainingOptions, train_from_file

    train_from_file(
        demo_training_file(DEMO_INTENTS, cache_dir, per_intent),
        model_dir,
        registry,
        TrainingOptions(slots=list(DEMO_SLOTS) if per_intent else None),
        cache_dir=cache_dir,
        progress=progress,
    )
    copy_domain(DEMO_DOMAIN, model_dir)
    stamp.write_text(digest + "\n", encoding="utf-8")
    return True
