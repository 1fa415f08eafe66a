from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.demo.messages import CACHE_FOLDER, attachments_possible
from fusiondesk.service.demo.model import SOURCE_STAMP, demo_source_digest, ensure_demo_model
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.fusion import IntentClassifier
from tests.conftest import TEST_DEMO_ATTACHMENTS_PER_INTENT

PER_INTENT = TEST_DEMO_ATTACHMENTS_PER_INTENT if attachments_possible() else 0


def _stamp_digest() -> str:
    return demo_source_digest(PER_INTENT)


def test_the_demo_model_is_rebuilt_only_when_its_sources_changed(
    demo_model_dir: Path, registry: PluginRegistry, settings: Settings, tmp_path: Path
) -> None:
    model_dir = tmp_path / "demo"
    shutil.copytree(demo_model_dir, model_dir)
    assert (model_dir / SOURCE_STAMP).read_text().strip() == _stamp_digest()
    assert not ensure_demo_model(
        model_dir, registry, settings.cache_dir, progress=False, attachments_per_intent=PER_INTENT
    )

    # A demo trained from older intents or domain (an upgrade changed them) is rebuilt.
    (model_dir / SOURCE_STAMP).write_text("0" * 64)
    media = sorted(settings.cache_dir.glob(f"{CACHE_FOLDER}/*/media/*"))
    made = {path: path.stat().st_mtime_ns for path in media}
    assert ensure_demo_model(
        model_dir, registry, settings.cache_dir, progress=False, attachments_per_intent=PER_INTENT
    )
    assert (model_dir / SOURCE_STAMP).read_text().strip() == _stamp_digest()
    assert "knowledge" in (model_dir / "domain.yaml").read_text()
    # The rebuild found its voice notes and screenshots in the cache.
    assert {path: path.stat().st_mtime_ns for path in media} == made


def test_a_demo_with_attachments_reads_transcripts_and_screenshot_text_in_slots_of_their_own(
    registry: PluginRegistry, settings: Settings, tmp_path: Path
) -> None:
    if not attachments_possible():
        pytest.skip("espeak-ng is needed to make the demo's voice notes")
    model_dir = tmp_path / "demo"
    assert ensure_demo_model(
        model_dir, registry, settings.cache_dir, progress=False, attachments_per_intent=1
    )
    slots = {slot.name for slot in IntentClassifier.load(model_dir).config.slots}
    assert slots == {"text", "voice_transcript", "image_text"}
