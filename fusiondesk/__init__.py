"""fusiondesk: a plugin-based, multimodal customer-service backend.

The installed packages live under this one name:

- ``fusiondesk.plugins`` — the plugin SDK (the ``ModalityPlugin`` contract, registry, errors)
  and the built-in text, voice and image plugins (repository folder ``plugins/``);
- ``fusiondesk.service`` — the core (understanding, replies, conversations, training) and its
  HTTP API and command line (folder ``service/``);
- ``fusiondesk.workers`` — the Celery side (folder ``workers/``).

The plugin SDK is re-exported here, so a plugin author writes
``from fusiondesk import ModalityPlugin``. The names load on first use (PEP 562), so
``import fusiondesk`` stays cheap for the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fusiondesk.plugins import (
        ENTRY_POINT_GROUP,
        Encoding,
        InputError,
        InputTooLargeError,
        InvalidInputError,
        ModalityPlugin,
        Part,
        Payload,
        PluginConfig,
        PluginError,
        PluginLoadError,
        PluginRegistrationError,
        PluginRegistry,
        SlotSpec,
        UnsupportedInputError,
        UsesDomainWords,
    )

__version__ = "0.2.0"

__all__ = [
    "ENTRY_POINT_GROUP",
    "Encoding",
    "InputError",
    "InputTooLargeError",
    "InvalidInputError",
    "ModalityPlugin",
    "Part",
    "Payload",
    "PluginConfig",
    "PluginError",
    "PluginLoadError",
    "PluginRegistrationError",
    "PluginRegistry",
    "SlotSpec",
    "UnsupportedInputError",
    "UsesDomainWords",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("fusiondesk.plugins"), name)
    raise AttributeError(f"module 'fusiondesk' has no attribute {name!r}")
