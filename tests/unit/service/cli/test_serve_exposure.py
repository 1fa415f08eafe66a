"""`fusiondesk serve` refuses to listen beyond loopback with auth off, unless told to."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fusiondesk.service.cli import main
from fusiondesk.service.cli.serving import _refuse_open_exposure, is_loopback


def test_serving_on_every_interface_with_auth_off_exits_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FUSIONDESK_AUTH__REQUIRED", raising=False)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code != 0
    assert "FUSIONDESK_AUTH__REQUIRED" in result.output and "--insecure-expose" in result.output


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"])
def test_loopback_addresses_need_no_auth(host: str) -> None:
    assert is_loopback(host)
    _refuse_open_exposure(host, auth_required=False, insecure_expose=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.4", "api.example.com"])
def test_other_addresses_need_auth_or_the_override(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not is_loopback(host)
    _refuse_open_exposure(host, auth_required=True, insecure_expose=False)
    _refuse_open_exposure(host, auth_required=False, insecure_expose=True)
    assert "WITHOUT AUTHENTICATION" in capsys.readouterr().err
