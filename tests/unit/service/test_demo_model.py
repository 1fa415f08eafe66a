from __future__ import annotations

import shutil
from pathlib import Path

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.demo import SOURCE_STAMP, demo_source_digest, ensure_demo_model
from fusiondesk.service.settings import Settings


def test_the_demo_model_is_rebuilt_only_when_its_sources_changed(
    demo_model_dir: Path, registry: PluginRegistry, settings: Settings, tmp_path: Path
) -> None:
    model_dir = tmp_path / "demo"
    shutil.copytree(demo_model_dir, model_dir)
    assert (model_dir / SOURCE_STAMP).read_text().strip() == demo_source_digest()
    assert not ensure_demo_model(model_dir, registry, settings.cache_dir, progress=False)

    # A demo trained from older intents or domain (an upgrade changed them) is rebuilt.
    (model_dir / SOURCE_STAMP).write_text("0" * 64)
    assert ensure_demo_model(model_dir, registry, settings.cache_dir, progress=False)
    assert (model_dir / SOURCE_STAMP).read_text().strip() == demo_source_digest()
    assert "knowledge" in (model_dir / "domain.yaml").read_text()
