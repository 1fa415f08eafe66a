"""Plugin discovery and dispatch.

Plugins are found through the ``fusiondesk.plugins`` entry-point group; the built-in plugins are
registered there by fusiondesk's own distribution, the same way a third party's are.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import ValidationError

from fusiondesk.plugins.base import NAME_PATTERN, ModalityPlugin, SlotSpec
from fusiondesk.plugins.errors import InvalidInputError, PluginRegistrationError

ENTRY_POINT_GROUP = "fusiondesk.plugins"
BUILTIN_DISTRIBUTION = "fusiondesk"


def validate_plugin_class(plugin_cls: object, label: str) -> type[ModalityPlugin]:
    """Check a class against the contract; errors name the plugin and say how to fix it."""
    if not (inspect.isclass(plugin_cls) and issubclass(plugin_cls, ModalityPlugin)):
        raise PluginRegistrationError(
            label, "entry point must name a subclass of fusiondesk.ModalityPlugin"
        )
    if inspect.isabstract(plugin_cls):
        missing = ", ".join(sorted(plugin_cls.__abstractmethods__))
        raise PluginRegistrationError(label, f"implement the abstract method(s): {missing}")
    for attribute in ("name", "modality", "part_types", "slots"):
        if not hasattr(plugin_cls, attribute):
            raise PluginRegistrationError(label, f"set the class attribute {attribute!r}")
    if not NAME_PATTERN.match(plugin_cls.name):
        raise PluginRegistrationError(
            label, f"name {plugin_cls.name!r} must be a lowercase identifier like 'my_modality'"
        )
    if not plugin_cls.part_types or not all(NAME_PATTERN.match(t) for t in plugin_cls.part_types):
        raise PluginRegistrationError(
            plugin_cls.name, "part_types must be a non-empty tuple of lowercase identifiers"
        )
    if not plugin_cls.slots:
        raise PluginRegistrationError(plugin_cls.name, "declare at least one SlotSpec in 'slots'")
    for slot in plugin_cls.slots:
        if not isinstance(slot, SlotSpec) or not NAME_PATTERN.match(slot.name) or slot.dim <= 0:
            raise PluginRegistrationError(
                plugin_cls.name,
                f"slot {slot!r} must be SlotSpec(name='lowercase_name', dim=positive int)",
            )
    if plugin_cls.max_batch_size < 1 or plugin_cls.max_wait_ms < 0:
        raise PluginRegistrationError(
            plugin_cls.name, "max_batch_size must be >= 1 and max_wait_ms >= 0"
        )
    return plugin_cls


class PluginRegistry:
    """The installed plugins, with one owner for every part type and slot name."""

    def __init__(self) -> None:
        self._plugins: dict[str, ModalityPlugin] = {}
        self._by_part_type: dict[str, ModalityPlugin] = {}
        self._slot_owner: dict[str, str] = {}

    def register(self, plugin: ModalityPlugin) -> None:
        validate_plugin_class(type(plugin), type(plugin).__name__)
        if plugin.name in self._plugins:
            raise PluginRegistrationError(
                plugin.name,
                "a plugin of this name is already registered; uninstall one of them or add the "
                "name to FUSIONDESK_DISABLED_PLUGINS",
            )
        for part_type in plugin.part_types:
            if part_type in self._by_part_type:
                other = self._by_part_type[part_type].name
                raise PluginRegistrationError(
                    plugin.name,
                    f"part type {part_type!r} is already claimed by plugin {other!r}; disable one "
                    "of them with FUSIONDESK_DISABLED_PLUGINS",
                )
        for slot in plugin.slots:
            if slot.name in self._slot_owner:
                raise PluginRegistrationError(
                    plugin.name,
                    f"slot {slot.name!r} is already produced by plugin "
                    f"{self._slot_owner[slot.name]!r}; give the slot a distinct name",
                )
        self._plugins[plugin.name] = plugin
        for part_type in plugin.part_types:
            self._by_part_type[part_type] = plugin
        for slot in plugin.slots:
            self._slot_owner[slot.name] = plugin.name

    @classmethod
    def discover(
        cls,
        *,
        configs: Mapping[str, Mapping[str, Any]] | None = None,
        device: str = "cpu",
        autoload_third_party: bool = True,
        disabled: Collection[str] = (),
    ) -> PluginRegistry:
        """Instantiate every plugin registered under the entry-point group."""
        configs = configs or {}
        registry = cls()
        for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if entry_point.name in disabled:
                continue
            if not autoload_third_party and not _is_builtin(entry_point):
                continue
            plugin_cls = validate_plugin_class(_load_entry_point(entry_point), entry_point.name)
            try:
                config = plugin_cls.Config(**configs.get(plugin_cls.name, {}))
            except ValidationError as error:
                raise PluginRegistrationError(
                    plugin_cls.name,
                    f"invalid settings (FUSIONDESK_PLUGINS__{plugin_cls.name.upper()}__...): "
                    f"{error}",
                ) from error
            registry.register(plugin_cls(config, device=device))
        unknown = set(configs) - set(registry._plugins) - set(disabled)
        if unknown:
            raise PluginRegistrationError(
                ", ".join(sorted(unknown)),
                "settings given for plugins that are not installed; check FUSIONDESK_PLUGINS",
            )
        return registry

    def for_part_type(self, part_type: str) -> ModalityPlugin:
        try:
            return self._by_part_type[part_type]
        except KeyError:
            known = ", ".join(sorted(self._by_part_type)) or "none"
            raise InvalidInputError(
                f"No installed plugin accepts parts of type {part_type!r}; "
                f"accepted part types: {known}",
                code="unknown_part_type",
            ) from None

    def get(self, name: str) -> ModalityPlugin:
        try:
            return self._plugins[name]
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none"
            raise KeyError(f"No plugin named {name!r}; installed: {known}") from None

    def __iter__(self) -> Iterator[ModalityPlugin]:
        return iter(self._plugins.values())

    def __len__(self) -> int:
        return len(self._plugins)

    @property
    def part_types(self) -> list[str]:
        return sorted(self._by_part_type)

    def slot_specs(self) -> dict[str, SlotSpec]:
        return {slot.name: slot for plugin in self for slot in plugin.slots}


def _is_builtin(entry_point: EntryPoint) -> bool:
    return entry_point.dist is not None and entry_point.dist.name == BUILTIN_DISTRIBUTION


# Before 0.2 the packages were installed under these generic top-level names.
RENAMED_PACKAGES = ("plugins", "service", "workers")


def _load_entry_point(entry_point: EntryPoint) -> object:
    try:
        return entry_point.load()
    except ModuleNotFoundError as error:
        old = (error.name or "").split(".")[0]
        if old not in RENAMED_PACKAGES:
            raise _import_failure(entry_point, error) from error
        raise PluginRegistrationError(
            entry_point.name,
            f"{entry_point.value!r} imports {error.name!r}, which fusiondesk 0.2 renamed to "
            f"'fusiondesk.{error.name}': write `from fusiondesk import ModalityPlugin` (the "
            f"plugin SDK) or `from fusiondesk.{error.name} import ...`, then reinstall the "
            "plugin; or add the name to FUSIONDESK_DISABLED_PLUGINS",
        ) from error
    except Exception as error:  # any import failure in third-party code
        raise _import_failure(entry_point, error) from error


def _import_failure(entry_point: EntryPoint, error: Exception) -> PluginRegistrationError:
    return PluginRegistrationError(
        entry_point.name,
        f"cannot import {entry_point.value!r} ({error}); fix or uninstall the package that "
        "provides it, or add the name to FUSIONDESK_DISABLED_PLUGINS",
    )
