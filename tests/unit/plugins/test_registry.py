from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import EntryPoint
from typing import Any

import pytest

import fusiondesk.plugins.registry as registry_module
from fusiondesk.plugins import (
    Encoding,
    InvalidInputError,
    ModalityPlugin,
    Part,
    Payload,
    PluginRegistrationError,
    PluginRegistry,
    SlotSpec,
)
from fusiondesk.plugins.text import TextPlugin
from tests.unit.fakes import FakeCaptionPlugin, FakeTextPlugin


def test_builtin_text_plugin_is_discovered_through_entry_points() -> None:
    registry = PluginRegistry.discover()
    plugin = registry.for_part_type("text")
    assert isinstance(plugin, TextPlugin)
    assert [(s.name, s.dim) for s in plugin.slots] == [("text", 384), ("text_multilingual", 512)]


def test_unknown_part_type_names_installed_types() -> None:
    registry = PluginRegistry()
    registry.register(FakeTextPlugin())
    with pytest.raises(InvalidInputError) as caught:
        registry.for_part_type("hologram")
    assert caught.value.code == "unknown_part_type"
    assert "text" in caught.value.message and "hologram" in caught.value.message


def test_two_plugins_claiming_one_part_type_is_refused_with_a_fix() -> None:
    class Other(FakeCaptionPlugin):
        name = "other"
        part_types = ("text",)
        slots = (SlotSpec("other_text", 8),)

    registry = PluginRegistry()
    registry.register(FakeTextPlugin())
    with pytest.raises(PluginRegistrationError, match="FUSIONDESK_DISABLED_PLUGINS") as caught:
        registry.register(Other())
    assert "'other'" in str(caught.value) and "fake_text" in str(caught.value)


def test_duplicate_slot_names_are_refused() -> None:
    class Clash(FakeCaptionPlugin):
        name = "clash"
        part_types = ("clash",)
        slots = (SlotSpec("text", 8),)

    registry = PluginRegistry()
    registry.register(FakeTextPlugin())
    with pytest.raises(PluginRegistrationError, match="slot 'text'"):
        registry.register(Clash())


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"name": "Bad Name"}, "lowercase identifier"),
        ({"slots": ()}, "at least one SlotSpec"),
        ({"slots": (SlotSpec("x", 0),)}, "positive int"),
        ({"part_types": ()}, "part_types"),
        ({"max_batch_size": 0}, "max_batch_size"),
    ],
)
def test_contract_violations_name_the_plugin_and_the_fix(
    attributes: dict[str, Any], message: str
) -> None:
    broken = type("Broken", (FakeCaptionPlugin,), attributes)
    with pytest.raises(PluginRegistrationError, match=message):
        registry_module.validate_plugin_class(broken, "broken")


def test_abstract_plugin_lists_missing_methods() -> None:
    class Half(ModalityPlugin):
        name = "half"
        modality = "half"
        part_types = ("half",)
        slots = (SlotSpec("half", 2),)

        def preprocess(self, part: Part) -> Payload:
            return {}

    with pytest.raises(PluginRegistrationError, match="encode"):
        registry_module.validate_plugin_class(Half, "half")


def _entry_point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=registry_module.ENTRY_POINT_GROUP)


def test_third_party_autoload_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = [ep for ep in registry_module.entry_points(group=registry_module.ENTRY_POINT_GROUP)]
    third_party = _entry_point("fake_caption", "tests.unit.fakes:FakeCaptionPlugin")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [*builtin, third_party])
    assert "fake_caption" in [p.name for p in PluginRegistry.discover()]
    names = [p.name for p in PluginRegistry.discover(autoload_third_party=False)]
    assert "fake_caption" not in names and "text" in names


def test_broken_entry_point_names_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _entry_point("ghost", "no_such_module:Plugin")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [broken])
    with pytest.raises(PluginRegistrationError, match="'ghost'.*FUSIONDESK_DISABLED_PLUGINS"):
        PluginRegistry.discover()


def test_invalid_plugin_settings_are_refused() -> None:
    with pytest.raises(PluginRegistrationError, match="FUSIONDESK_PLUGINS__TEXT"):
        PluginRegistry.discover(configs={"text": {"no_such_option": 1}})
    with pytest.raises(PluginRegistrationError, match="not installed"):
        PluginRegistry.discover(configs={"nonexistent": {}})


def test_embed_checks_declared_slot_shapes() -> None:
    class WrongShape(FakeCaptionPlugin):
        def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
            import numpy as np

            return [Encoding({"caption_text": np.zeros(3)}) for _ in payloads]

    with pytest.raises(Exception, match="shape"):
        WrongShape().embed([{"text": "x"}])


def test_embed_splits_batches_at_max_batch_size() -> None:
    plugin = FakeTextPlugin()
    encodings = plugin.embed([{"text": str(i)} for i in range(10)])
    assert len(encodings) == 10
    assert plugin.batches == [4, 4, 2]


def test_a_plugin_written_for_the_old_import_path_gets_a_clear_error(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A third-party plugin of fusiondesk 0.1 imports the SDK as `plugins`; installed
    # fusiondesk 0.2 puts nothing of that name in site-packages.
    (tmp_path / "old_style_plugin.py").write_text(
        "from plugins_before_0_2_stand_in import ModalityPlugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry_module, "RENAMED_PACKAGES", ("plugins_before_0_2_stand_in",))
    entry_point = EntryPoint("old", "old_style_plugin:OldPlugin", "fusiondesk.plugins")
    with pytest.raises(PluginRegistrationError) as caught:
        registry_module._load_entry_point(entry_point)
    message = str(caught.value)
    assert "renamed to 'fusiondesk.plugins_before_0_2_stand_in'" in message
    assert "from fusiondesk import ModalityPlugin" in message


def test_a_plugin_missing_another_module_gets_the_general_import_error(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_plugin.py").write_text("import a_module_nobody_has\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry_point = EntryPoint("broken", "broken_plugin:Plugin", "fusiondesk.plugins")
    with pytest.raises(PluginRegistrationError) as caught:
        registry_module._load_entry_point(entry_point)
    assert "cannot import 'broken_plugin:Plugin'" in str(caught.value)
    assert "renamed" not in str(caught.value)
