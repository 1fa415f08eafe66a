"""Plugin settings that travel with a model, such as a fine-tuned text encoder inside it.

A model's ``config.json`` lists, per plugin, the settings the plugin needs to produce the
embeddings the model was trained on: ``{"text": {"model_path": "encoders/text",
"multilingual": true}}``. Settings ending in ``path`` are relative to the model directory.
Serving a model means serving those plugins with those settings (they win over the
operator's), so the registry is rebuilt accordingly, and a reload swaps both at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fusiondesk.plugins import ModalityPlugin, PluginRegistry
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE

ENCODERS_DIR = "encoders"
SHARED_TEXT_ENCODER_FIELD = "text_model_path"
"""The setting a non-text plugin (voice, image) declares to embed transcripts or OCR text with
the same encoder as the text plugin; it is pointed at a model's fine-tuned text encoder."""

PluginSettings = dict[str, dict[str, Any]]


def model_plugin_settings(model_dir: Path) -> PluginSettings:
    """The plugin settings recorded in a model directory (empty when none or no model)."""
    try:
        config = json.loads((model_dir / CONFIG_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    settings = config.get("plugin_settings", {})
    return settings if isinstance(settings, dict) else {}


def text_encoder_settings(registry: PluginRegistry, relative_path: str) -> PluginSettings:
    """Settings that make every plugin embedding text use the encoder at ``relative_path``."""
    settings: PluginSettings = {}
    for plugin in registry:
        fields = type(plugin.config).model_fields
        if plugin.name == "text" and "model_path" in fields:
            settings[plugin.name] = {"model_path": relative_path}
        elif SHARED_TEXT_ENCODER_FIELD in fields:
            settings[plugin.name] = {SHARED_TEXT_ENCODER_FIELD: relative_path}
    return settings


def with_plugin_settings(
    registry: PluginRegistry, settings: Mapping[str, Mapping[str, Any]], model_dir: Path
) -> PluginRegistry:
    """The registry with each listed plugin re-created with the model's settings."""
    if not settings:
        return registry
    rebuilt = PluginRegistry()
    for plugin in registry:
        overrides = settings.get(plugin.name)
        if overrides:
            resolved = {
                key: model_dir / value if key.endswith("path") else value
                for key, value in overrides.items()
            }
            plugin = reconfigured(plugin, resolved)
        rebuilt.register(plugin)
    return rebuilt


def reconfigured(plugin: ModalityPlugin, overrides: Mapping[str, Any]) -> ModalityPlugin:
    """A fresh instance of ``plugin`` (same device) with some settings changed."""
    config = type(plugin.config).model_validate(plugin.config.model_dump() | dict(overrides))
    return type(plugin)(config, device=plugin.device)
