"""Schemathesis against the API's own OpenAPI document, with every check (status codes and
response schemas as documented, ``ignored_auth``, server errors, negative data rejected ...),
auth off (the default) and on. Prints, per mode, the cases run, the statuses answered and the
failures by check; exits non-zero on any failure.

    python bench/fuzz.py [--cases-per-operation 300]

The app runs on a real uvicorn server in a thread of this process, on a free port.
Rate limits and the failed-authentication back-off are off: every generated request must reach
the handlers (``ignored_auth`` probes with wrong keys on purpose).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fusiondesk.service.api import create_app
from fusiondesk.service.api.security import sha256_hex
from fusiondesk.service.settings import ApiKey, Auth, RateLimits, Settings
from fusiondesk.workers.local import free_port

ADMIN_KEY = "fuzz-admin-key-5b7c"
EXCLUDED_CHECKS = [positive_data_acceptance]
"""The one check left out: it wants every schema-valid request accepted, but whether a part
is acceptable depends on its content (a text of only spaces, bytes that are no audio, a part
type no installed plugin reads), which no JSON schema can say; those answer 415/422."""


@dataclass
class FuzzReport:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)


def fuzz_settings(base: Settings, model_dir: Path, *, auth: bool) -> Settings:
    keys = [ApiKey(name="fuzz", sha256=sha256_hex(ADMIN_KEY), scopes=["chat", "admin"])]
    return base.model_copy(
        update={
            "model_dir": model_dir,
            "rate_limits": RateLimits(per_ip_per_minute=0, per_key_per_minute=0),
            "auth": Auth(required=auth, api_keys=keys, failures_before_backoff=10**9),
        }
    )


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app on a real uvicorn server in a thread, models loaded; yields its base URL."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=free_port(), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{config.port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{base_url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("models did not load")
            time.sleep(0.2)
        yield base_url
    finally:
        server.should_exit = True
        thread.join()


def fuzz(base_url: str, cases_per_operation: int, headers: dict[str, str]) -> FuzzReport:
    """Positive and negative cases for every operation, each sent and checked by every check
    schemathesis has for responses."""
    report = FuzzReport()
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=cases_per_operation // 2,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                report.cases += 1
                try:
                    response = case.call_and_validate(
                        base_url=base_url,
                        session=session,
                        headers=headers,
                        excluded_checks=EXCLUDED_CHECKS,
                    )
                    report.statuses[response.status_code] += 1
                # Schemathesis raises a group of failed checks (a BaseExceptionGroup): count
                # them and keep generating.
                except (Exception, BaseExceptionGroup) as failure:
                    for name in _failed_checks(failure):
                        report.failures[name] += 1
                        report.examples.setdefault(
                            name, f"{case.method} {case.formatted_path}: {failure}"[:600]
                        )

            try:
                check()
            except Unsatisfiable:
                pass  # nothing to make invalid (no parameters, no body): positive cases only
    return report


def _failed_checks(failure: Exception) -> list[str]:
    inner = getattr(failure, "exceptions", None) or [failure]
    return [getattr(error, "title", None) or type(error).__name__ for error in inner]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases-per-operation", type=int, default=300)
    arguments = parser.parse_args()
    from fusiondesk.service.demo.model import ensure_demo_model
    from fusiondesk.service.understanding.wiring import build_registry

    base = Settings()
    model_dir = base.resolved_model_dir
    ensure_demo_model(model_dir, build_registry(base), base.cache_dir, progress=False)
    # Each ignored_auth probe is a failed authentication, logged as a warning.
    logging.getLogger("fusiondesk.service.api.security").setLevel(logging.ERROR)
    failed = False
    print(f"{'auth':<5} {'cases':>6} {'5xx':>5} {'failures':>9} {'seconds':>8}  statuses")
    for auth in (False, True):
        started = time.perf_counter()
        with serving(fuzz_settings(base, model_dir, auth=auth)) as base_url:
            headers = {"X-API-Key": ADMIN_KEY} if auth else {}
            report = fuzz(base_url, arguments.cases_per_operation, headers)
        server_errors = sum(n for status, n in report.statuses.items() if status >= 500)
        print(
            f"{'on' if auth else 'off':<5} {report.cases:>6} {server_errors:>5} "
            f"{sum(report.failures.values()):>9} {time.perf_counter() - started:>8.1f}  "
            f"{json.dumps(dict(sorted(report.statuses.items())))}"
        )
        for name, count in report.failures.most_common():
            print(f"      {count:>5} × {name}: {report.examples[name]}")
        failed = failed or bool(report.failures) or server_errors > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
