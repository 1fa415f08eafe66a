"""A worker's batching: the plugin's declared sizes, under the worker settings' overrides."""

from __future__ import annotations

from fusiondesk.service.settings import Batching
from fusiondesk.service.understanding.batching import BatchPolicy
from fusiondesk.workers.runtime import batch_policy
from tests.unit.fakes import FakeTextPlugin


def test_a_plugin_batches_as_it_declares_unless_the_settings_say_otherwise() -> None:
    plugin = FakeTextPlugin()
    declared = BatchPolicy(plugin.max_batch_size, plugin.max_wait_ms)
    assert batch_policy(plugin, None) == declared
    assert batch_policy(plugin, Batching()) == declared
    assert batch_policy(plugin, Batching(max_batch_size=1)) == BatchPolicy(1, plugin.max_wait_ms)
    # A wait of zero is an override, not "keep the plugin's".
    assert batch_policy(plugin, Batching(max_wait_ms=0)) == BatchPolicy(plugin.max_batch_size, 0)
