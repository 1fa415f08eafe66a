"""Plugin wiring: the plugins and the executor a process serves, built from settings.

The API, the CLI and the Celery workers all build their plugins here, so this module stays
at the bottom of the service: it imports plugins, settings and the fusion model's plugin
settings, never the replies (knowledge base, LangChain), the API or the workers. Executors
are found by name in the ``fusiondesk.executors`` entry-point group, as plugins are in
``fusiondesk.plugins``, so the core never imports the Celery executor that implements one.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from fusiondesk.plugins import PluginRegistry
from fusiondesk.plugins.onnx_session import use_graph_cache
from fusiondesk.service.errors import ConfigurationError
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import Executor
from fusiondesk.service.understanding.fusion.domain_words import (
    give_domain_words,
    model_domain_words,
)
from fusiondesk.service.understanding.fusion.encoders import (
    model_plugin_settings,
    model_text_encoder,
    with_plugin_settings,
    with_text_encoder,
)

EXECUTOR_GROUP = "fusiondesk.executors"


class ExecutorFactory(Protocol):
    """What an entry point of ``fusiondesk.executors`` names: a class with ``from_settings``."""

    def from_settings(self, settings: Settings, registry: PluginRegistry) -> Executor: ...


def build_registry(settings: Settings, text_encoder: str | None = None) -> PluginRegistry:
    """The plugins the settings describe; text is embedded by the packaged ``text_encoder``
    (default: ``settings.text_encoder``) unless the text plugin's settings name a model_path."""
    # Before any plugin loads: a restart reads the graphs its encoders exported last time.
    use_graph_cache(settings.cache_dir / "graphs")
    registry = PluginRegistry.discover(
        configs=settings.plugins,
        device=settings.device,
        autoload_third_party=not settings.disable_plugin_autoload,
        disabled=settings.disabled_plugins,
    )
    if "model_path" in settings.plugins.get("text", {}):
        return registry
    return with_text_encoder(
        registry, text_encoder or settings.text_encoder, settings.cache_dir / "models"
    )


def build_model_registry(settings: Settings, model_dir: Path) -> PluginRegistry:
    """The plugins configured as the model in ``model_dir`` needs them (its text encoder, a
    fine-tuned copy of it, the multilingual slot), and told its domain words."""
    registry = with_plugin_settings(
        build_registry(settings, model_text_encoder(model_dir)),
        model_plugin_settings(model_dir),
        model_dir,
    )
    give_domain_words(registry, model_domain_words(model_dir))
    return registry


def build_executor(settings: Settings, registry: PluginRegistry) -> Executor:
    """The executor named by ``settings.executor``; its package is imported only now."""
    installed = {entry.name: entry for entry in entry_points(group=EXECUTOR_GROUP)}
    entry = installed.get(settings.executor)
    if entry is None:
        names = ", ".join(sorted(installed)) or "none"
        raise ConfigurationError(
            f"No executor named {settings.executor!r} is installed (installed: {names})."
        )
    try:
        factory: ExecutorFactory = entry.load()
    except ImportError as error:  # e.g. the celery executor without the workers' extra
        raise ConfigurationError(
            f"The {entry.name!r} executor ({entry.value}) cannot be imported: {error}."
        ) from error
    return factory.from_settings(settings, registry)
