"""A small run of bench/fuzz.py's harness: schemathesis with every response check
(documented statuses, response schemas, ignored_auth, no 5xx ...) against the API's own
OpenAPI document, auth off and on. The bench runs the thousands of cases."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bench.fuzz import ADMIN_KEY, fuzz, fuzz_settings, serving
from fusiondesk.service.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize("auth", [False, True], ids=["auth-off", "auth-on"])
def test_schemathesis_finds_nothing(
    auth: bool, settings: Settings, demo_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)  # ignored_auth's probes are failed authentications
    with serving(fuzz_settings(settings, demo_model_dir, auth=auth)) as base_url:
        report = fuzz(base_url, 16, {"X-API-Key": ADMIN_KEY} if auth else {})
    assert not report.failures, report.examples
    assert report.cases >= 60
    assert not [status for status in report.statuses if status >= 500]
    assert report.statuses[200] > 5  # valid requests got through, not only errors
    if auth:
        assert report.statuses[401] > 0  # and requests without a key did not
