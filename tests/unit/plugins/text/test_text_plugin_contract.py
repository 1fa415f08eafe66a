"""The built-in text plugin passes the contract test every third-party plugin runs."""

from __future__ import annotations

import pytest

from fusiondesk.plugins import InputTooLargeError, InvalidInputError, Part
from fusiondesk.plugins.testing import PluginContractTests
from fusiondesk.plugins.text import TextConfig, TextPlugin

pytestmark = pytest.mark.slow  # loads the real all-MiniLM-L6-v2 (once per process)


class TestTextPluginContract(PluginContractTests):
    plugin_class = TextPlugin
    config = TextConfig(max_chars=200)
    sample_parts = [
        Part("text", text="where is my parcel"),
        Part("text", text="  I want   a refund for the broken kettle I bought last week  "),
        Part("text", text="hi"),
    ]
    bad_parts = [
        (Part("text"), InvalidInputError),
        (Part("text", text=" \n\t "), InvalidInputError),
        (Part("text", text="x" * 201), InputTooLargeError),
    ]
