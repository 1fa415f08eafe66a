from __future__ import annotations

import json

from click.testing import CliRunner

from fusiondesk.service.api.security import sha256_hex
from fusiondesk.service.cli import main
from fusiondesk.service.settings import ApiKey


def test_new_key_prints_the_key_once_and_a_settings_entry_with_its_hash() -> None:
    result = CliRunner().invoke(main, ["keys", "new", "--name", "widget", "--public"])
    assert result.exit_code == 0, result.output
    key_line, entry_line = result.output.strip().splitlines()
    key = key_line.removeprefix("key: ")
    entry = ApiKey.model_validate(json.loads(entry_line.removeprefix("settings entry: ")))
    assert entry.sha256 == sha256_hex(key) and key not in entry_line
    assert entry.scopes == ["chat"] and entry.public and entry.name == "widget"
