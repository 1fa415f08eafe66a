"""Test helpers for plugin authors: the contract check and fakes for fast unit tests.

    from fusiondesk.plugins.testing import PluginContractTests

    class TestMyPlugin(PluginContractTests):
        plugin_class = MyPlugin
        sample_parts = [Part("my_type", text="...")]
        bad_parts = [(Part("my_type"), InvalidInputError)]

Needs no pytest import itself; ``msgpack`` comes with fusiondesk.
"""

from fusiondesk.plugins.testing.contract import (
    BadPart,
    ContractReport,
    ContractViolation,
    PluginContractTests,
    check_batching,
    check_declaration,
    check_determinism,
    check_encodings,
    check_payloads,
    check_plugin_contract,
    check_rejections,
    make_plugin,
    worker_roundtrip,
)
from fusiondesk.plugins.testing.fakes import (
    FakeCaptionPlugin,
    FakeSentenceEncoder,
    FakeTextPlugin,
    hashed_vector,
)

__all__ = [
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
