"""Plugin settings that travel with a model, such as a fine-tuned text encoder inside it.

A model's ``config.json`` lists, per plugin, the settings the plugin needs to produce the
embeddings the model was trained on: ``{"text": {"model_path": "encoders/text",
"multilingual": true}}``. Settings ending in ``path`` are relative to the model directory.
Serving a model means serving those plugins with those settings (they win over the
operator's), so the registry is rebuilt accordingly, and a reload swaps both at once.

Its text-space slots also record which packaged text encoder fills them (``"encoder":
"mpnet"``); every plugin that embeds text (typed text, transcripts, OCR text) is pointed at
that encoder. A model that records none was trained on all-MiniLM-L6-v2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fusiondesk.plugins import ModalityPlugin, PluginRegistry
from fusiondesk.plugins.text import TEXT_SPACE
from fusiondesk.plugins.text.packaged import (
    DEFAULT_ENCODER,
    packaged_encoder_name,
    packaged_encoder_path,
)
from fusiondesk.service.understanding.fusion.model import CONFIG_FILE, SlotConfig

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


def model_text_encoder(model_dir: Path) -> str:
    """The packaged text encoder the model in ``model_dir`` reads (MiniLM when it says none)."""
    try:
        slots = json.loads((model_dir / CONFIG_FILE).read_text()).get("slots", [])
        names = {SlotConfig.model_validate(slot).encoder for slot in slots}
    except (OSError, ValueError, AttributeError):
        return DEFAULT_ENCODER
    named = sorted(name for name in names if name is not None)
    return named[0] if named else DEFAULT_ENCODER


def registry_text_encoder(registry: PluginRegistry) -> str | None:
    """The packaged encoder the text plugin embeds with; None for another folder (or none)."""
    text = next((plugin for plugin in registry if plugin.name == "text"), None)
    model_path = getattr(text.config, "model_path", None) if text is not None else None
    return packaged_encoder_name(model_path) if isinstance(model_path, Path) else None


def with_text_encoder(registry: PluginRegistry, name: str, cache_dir: Path) -> PluginRegistry:
    """The registry with every plugin that embeds text using the packaged encoder ``name``."""
    if name == DEFAULT_ENCODER:  # the plugins' own default
        return registry
    path = packaged_encoder_path(name, cache_dir)
    return with_plugin_settings(registry, text_encoder_settings(registry, str(path)), path)


def record_text_encoder(slots: list[SlotConfig], name: str | None) -> None:
    """Write ``name`` into the text-space slots, so serving loads that encoder."""
    for slot in slots:
        if slot.space == TEXT_SPACE:
            slot.encoder = name


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
