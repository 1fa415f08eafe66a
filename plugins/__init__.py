"""fusiondesk plugin SDK: the modality plugin contract, its registry and its errors.

This package knows nothing of the HTTP service or the Celery workers.
"""

from fusiondesk.plugins.base import (
    Encoding,
    ModalityPlugin,
    Part,
    Payload,
    PluginConfig,
    SlotSpec,
    UsesDomainWords,
)
from fusiondesk.plugins.errors import (
    InputError,
    InputTooLargeError,
    InvalidInputError,
    PluginError,
    PluginLoadError,
    PluginRegistrationError,
    UnsupportedInputError,
)
from fusiondesk.plugins.registry import ENTRY_POINT_GROUP, PluginRegistry

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
]
