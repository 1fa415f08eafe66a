"""The public SDK surface, spelled out: a change to it is a deliberate edit of this file."""

from __future__ import annotations

import fusiondesk
import fusiondesk.plugins
import fusiondesk.plugins.testing

SDK = [
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


def test_plugin_sdk_all() -> None:
    assert fusiondesk.plugins.__all__ == SDK


def test_top_level_package_re_exports_the_sdk() -> None:
    assert fusiondesk.__all__ == sorted([*SDK, "__version__"])
    for name in SDK:
        assert getattr(fusiondesk, name) is getattr(fusiondesk.plugins, name)


def test_top_level_package_refuses_unknown_names() -> None:
    try:
        fusiondesk.Router  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "no attribute 'Router'" in str(error)
    else:
        raise AssertionError("fusiondesk.Router should not exist")


TESTING_KIT = [
    "BadPart",
    "ContractReport",
    "ContractViolation",
    "FakeCaptionPlugin",
    "FakeSentenceEncoder",
    "FakeTextPlugin",
    "PluginContractTests",
    "check_batching",
    "check_declaration",
    "check_determinism",
    "check_encodings",
    "check_payloads",
    "check_plugin_contract",
    "check_rejections",
    "hashed_vector",
    "make_plugin",
    "worker_roundtrip",
]


def test_testing_kit_all() -> None:
    assert fusiondesk.plugins.testing.__all__ == TESTING_KIT
    for name in TESTING_KIT:
        assert hasattr(fusiondesk.plugins.testing, name)
