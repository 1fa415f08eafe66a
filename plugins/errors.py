"""Errors raised by modality plugins and the plugin registry.

Hierarchy::

    PluginError                      base of everything raised by the SDK
    ├── PluginRegistrationError      a plugin cannot be registered (names the plugin and the fix)
    ├── PluginLoadError              a plugin's model files cannot be loaded
    └── InputError                   a part given to a plugin is unusable (the customer's fault)
        ├── UnsupportedInputError    wrong type / format (HTTP layer: 415)
        ├── InputTooLargeError       over a size, duration or pixel limit (HTTP layer: 413)
        └── InvalidInputError        malformed or empty content (HTTP layer: 422)

Plugins know nothing of HTTP: the service maps these classes to status codes in one place.
"""

from __future__ import annotations


class PluginError(Exception):
    """Base of all plugin SDK errors."""


class PluginRegistrationError(PluginError):
    """A plugin class violates the contract or clashes with another plugin."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"Plugin {plugin!r}: {message}")
        self.plugin = plugin


class PluginLoadError(PluginError):
    """A plugin's model or resources could not be loaded."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"Plugin {plugin!r} failed to load: {message}")
        self.plugin = plugin


class InputError(PluginError):
    """A message part cannot be processed; ``code`` is a stable machine-readable reason."""

    code = "invalid_input"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class UnsupportedInputError(InputError):
    code = "unsupported_media"


class InputTooLargeError(InputError):
    code = "input_too_large"


class InvalidInputError(InputError):
    code = "invalid_input"
