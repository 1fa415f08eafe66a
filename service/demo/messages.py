"""The demo's training data: its typed texts plus messages with a voice note and a screenshot.

A customer types "see attached" and sends a screenshot of the error; a model learns to let the
attachment speak over such a caption only from messages like it. So a few of each demo intent's
texts also become messages (``write_attachment_messages``): the text's voice note (espeak-ng)
and screenshot, captioned by the text itself or by a vague line. How many per intent was
measured (docs/training.md, "The demo model"): enough for the model to weigh caption and
attachment, few enough that the first ``make run`` stays short.

Synthesising, transcribing and reading the media is the slow part, so the media live under the
cache folder in a subfolder named by the recipe's digest (texts, seed, captions): a second start
or a retrain finds them, and ``featurize`` finds their embeddings in the same cache.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np

from fusiondesk.service.synth.messages import VAGUE_CAPTIONS, write_attachment_messages
from fusiondesk.service.synth.voice import espeak_available

ATTACHMENTS_PER_INTENT = 0
"""Messages with a voice note and a screenshot per demo intent, by default none, though 4 was
measured best on attachments: the demo trained with 4 sends an in-domain question no intent
covers ("how long is the guarantee on a coffee machine?") to the handoff intent at 0.86
confidence, far above any threshold its validation split can justify (bench/threshold_rules.py),
instead of to the knowledge base. Opt in with ``FUSIONDESK_DEMO_ATTACHMENTS_PER_INTENT=4``
(docs/training.md, "The demo model")."""
DEMO_SLOTS = ("text", "voice_transcript", "image_text")
"""The slots the demo trains on: its attachments' acoustic and visual slots, learned from a few
synthetic messages per intent, lost it accuracy on every part (docs/training.md)."""
ATTACHMENT_SEED = 21
CACHE_FOLDER = "demo-messages"
TRAINING_FILE = "train.jsonl"


def attachment_samples(intents_file: Path, per_intent: int) -> list[tuple[str, str]]:
    """``per_intent`` texts of each intent, drawn with a fixed seed: the attachment messages."""
    rows = [json.loads(line) for line in intents_file.read_text(encoding="utf-8").splitlines()]
    rows = [row for row in rows if row]
    rng = np.random.default_rng(ATTACHMENT_SEED)
    samples: list[tuple[str, str]] = []
    for intent in sorted({row["intent"] for row in rows}):
        texts = [row["text"] for row in rows if row["intent"] == intent]
        chosen = rng.choice(len(texts), size=min(per_intent, len(texts)), replace=False)
        samples.extend((texts[i], intent) for i in sorted(chosen))
    return samples


def attachment_recipe(samples: list[tuple[str, str]]) -> str:
    """The digest of what the attachment messages are made from (their cache key)."""
    recipe = {"samples": samples, "seed": ATTACHMENT_SEED, "captions": list(VAGUE_CAPTIONS)}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def attachments_possible() -> bool:
    """Voice notes need espeak-ng (``make setup`` installs it); without it the demo stays text."""
    return espeak_available()


def demo_training_file(
    intents_file: Path, cache_dir: Path | None, per_intent: int = ATTACHMENTS_PER_INTENT
) -> Path:
    """One JSONL file: every typed text, then ``per_intent`` attachment messages per intent.

    Without a cache folder the media go to a fresh temporary folder, left for the OS to clear.
    """
    if per_intent == 0:
        return intents_file
    samples = attachment_samples(intents_file, per_intent)
    digest = attachment_recipe(samples)[:16]
    if cache_dir is None:
        folder = Path(tempfile.mkdtemp(prefix="fusiondesk-demo-"))
    else:
        folder = cache_dir / CACHE_FOLDER / digest
        folder.mkdir(parents=True, exist_ok=True)
    attachments = write_attachment_messages(
        samples, folder / "attachments.jsonl", seed=ATTACHMENT_SEED
    )
    training = folder / TRAINING_FILE
    texts = intents_file.read_text(encoding="utf-8")
    if not texts.endswith("\n"):
        texts += "\n"
    training.write_text(texts + attachments.read_text(encoding="utf-8"), encoding="utf-8")
    return training
