from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusiondesk.service.demo.messages import (
    CACHE_FOLDER,
    attachment_samples,
    demo_training_file,
)
from fusiondesk.service.synth.voice import espeak_available

TEXTS = {
    "order_status": ["where is my parcel", "has my order shipped", "tracking number please"],
    "payment_failed": ["my card was declined", "payment error 504", "checkout keeps failing"],
}


def _intents_file(directory: Path, texts: dict[str, list[str]] = TEXTS) -> Path:
    path = directory / "intents.jsonl"
    rows = [{"text": t, "intent": intent} for intent, ts in texts.items() for t in ts]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_each_intent_gives_the_same_texts_for_its_attachment_messages(tmp_path: Path) -> None:
    intents = _intents_file(tmp_path)
    samples = attachment_samples(intents, 2)
    assert sorted(intent for _, intent in samples) == ["order_status"] * 2 + ["payment_failed"] * 2
    assert all(text in TEXTS[intent] for text, intent in samples)
    assert attachment_samples(intents, 2) == samples
    assert len(attachment_samples(intents, 10)) == 6  # never more than an intent has


def test_no_attachment_messages_trains_on_the_texts_alone(tmp_path: Path) -> None:
    intents = _intents_file(tmp_path)
    assert demo_training_file(intents, tmp_path / "cache", 0) == intents


@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng")
def test_attachment_media_are_cached_by_what_they_are_made_from(tmp_path: Path) -> None:
    intents, cache = _intents_file(tmp_path), tmp_path / "cache"
    training = demo_training_file(intents, cache, 1)
    rows = [json.loads(line) for line in training.read_text().splitlines()]
    typed, attached = rows[:6], rows[6:]
    assert all(set(row) == {"text", "intent"} for row in typed)
    assert len(attached) == 2 and all(
        set(row) == {"text", "audio", "image", "intent"} for row in attached
    )
    media = sorted((training.parent / "media").iterdir())
    assert len(media) == 4
    written = {path: path.stat().st_mtime_ns for path in media}

    # A second start finds them: nothing is spoken or drawn again.
    assert demo_training_file(intents, cache, 1) == training
    assert {path: path.stat().st_mtime_ns for path in media} == written

    # Other texts are other media, in a folder of their own.
    changed = {"order_status": ["where is my stuff"], "payment_failed": ["card declined"]}
    (tmp_path / "other").mkdir()
    other = demo_training_file(_intents_file(tmp_path / "other", changed), cache, 1)
    assert other.parent != training.parent
    assert len(list((cache / CACHE_FOLDER).iterdir())) == 2
