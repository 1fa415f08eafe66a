"""`fusiondesk knowledge`: builds the demo's index on disk, then cites entries for questions."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fusiondesk.service.cli import main
from fusiondesk.service.demo import DEMO_DOMAIN

pytestmark = pytest.mark.integration


def test_knowledge_command_cites_entries_and_reuses_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUSIONDESK_HOME", str(tmp_path))
    runner = CliRunner()
    question = "can I pay with Klarna in three parts?"
    arguments = ["knowledge", "--domain", str(DEMO_DOMAIN), question, "what's the meaning of life"]

    first = runner.invoke(main, arguments)
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    top = lines[lines.index(question) + 1]
    assert top.endswith("Can I pay in instalments?  [payments.md]")
    assert "nothing above the score threshold" in first.output
    [manifest] = (tmp_path / "knowledge").glob("*/manifest.json")
    built_at = manifest.stat().st_mtime_ns

    second = runner.invoke(main, arguments)
    assert second.exit_code == 0, second.output
    assert second.output == first.output
    assert manifest.stat().st_mtime_ns == built_at, "the unchanged index was rebuilt"
