"""Building the understanding side's parts from settings."""

from __future__ import annotations

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.settings import Settings


def build_registry(settings: Settings) -> PluginRegistry:
    return PluginRegistry.discover(
        configs=settings.plugins,
        device=settings.device,
        autoload_third_party=not settings.disable_plugin_autoload,
        disabled=settings.disabled_plugins,
    )
