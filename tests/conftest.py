"""Shared fixtures. Expensive things (the text encoder, the demo model) are built once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.settings import Settings

# The suite's models are small and the CI machine's cores are shared: with two intra-op
# threads, OpenMP's spin-waiting costs about ten times the work itself under load.
torch.set_num_threads(1)

# Starlette's TestClient sends `Host: testserver`; the API answers only to allowed hosts.
# Additive to the defaults, so the real servers the tests start still answer 127.0.0.1.
os.environ.setdefault("FUSIONDESK_ALLOWED_HOSTS", '["testserver"]')

LAYERS = ("unit", "integration", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test carries the marker of its layer's folder, so `-m unit` selects by layer."""
    for item in items:
        layer = item.path.relative_to(item.config.rootpath).parts[1]
        if layer in LAYERS:
            item.add_marker(layer)


@pytest.fixture(scope="session")
def fusiondesk_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private FUSIONDESK_HOME for the whole run, so no test touches the user's models."""
    home = tmp_path_factory.mktemp("fusiondesk-home")
    previous = os.environ.get("FUSIONDESK_HOME")
    os.environ["FUSIONDESK_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("FUSIONDESK_HOME", None)
    else:
        os.environ["FUSIONDESK_HOME"] = previous


@pytest.fixture(scope="session")
def settings(fusiondesk_home: Path) -> Settings:
    return Settings(home=fusiondesk_home)


@pytest.fixture(scope="session")
def registry(settings: Settings) -> PluginRegistry:
    from fusiondesk.service.understanding.wiring import build_registry

    return build_registry(settings)


TEST_DEMO_ATTACHMENTS_PER_INTENT = 0
"""The suite's demo is ``make run``'s: its texts alone, the shipped default. The servers the
tests start (``fusiondesk serve``) read it too, so they find the suite's demo up to date."""
os.environ.setdefault(
    "FUSIONDESK_DEMO_ATTACHMENTS_PER_INTENT", str(TEST_DEMO_ATTACHMENTS_PER_INTENT)
)


@pytest.fixture(scope="session")
def demo_model_dir(settings: Settings, registry: PluginRegistry) -> Path:
    """The bundled demo domain's model, trained once per test run (under a minute)."""
    from fusiondesk.service.demo.model import ensure_demo_model

    model_dir = settings.resolved_model_dir
    ensure_demo_model(
        model_dir,
        registry,
        settings.cache_dir,
        progress=False,
        attachments_per_intent=TEST_DEMO_ATTACHMENTS_PER_INTENT,
    )
    return model_dir
