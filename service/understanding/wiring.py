"""The plugin registries a service or command builds from settings (and a model directory)."""

from __future__ import annotations

from pathlib import Path

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.fusion.encoders import (
    model_plugin_settings,
    with_plugin_settings,
)


def build_registry(settings: Settings) -> PluginRegistry:
    return PluginRegistry.discover(
        configs=settings.plugins,
        device=settings.device,
        autoload_third_party=not settings.disable_plugin_autoload,
        disabled=settings.disabled_plugins,
    )


def build_model_registry(settings: Settings, model_dir: Path) -> PluginRegistry:
    """The plugins configured as the model in ``model_dir`` needs them (e.g. its encoder)."""
    return with_plugin_settings(
        build_registry(settings), model_plugin_settings(model_dir), model_dir
    )
