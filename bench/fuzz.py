"""Schemathesis against the API's own OpenAPI document, with every check (status codes and
response schemas as documented, ``ignored_auth``, server errors, negative data rejected ...),
auth off (the default) and on. Prints, per mode, the cases run, the statuses answered and the
failures by check; exits non-zero on any failure.

    python bench/fuzz.py [--cases-per-operation 120]

In process (ASGI, the app's lifespan running), so no port or server start is measured.
Rate limits and the failed-authentication back-off are off: every generated request must reach
the handlers (``ignored_auth`` probes with wrong keys on purpose).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from fusiondesk.service.api import create_app
from fusiondesk.service.api.security import sha256_hex
from fusiondesk.service.settings import ApiKey, Auth, RateLimits, Settings

ADMIN_KEY = "fuzz-admin-key-5b7c"


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
            "allowed_hosts": ["testserver"],  # the Host of Starlette's test client
        }
    )


@contextmanager
def serving(settings: Settings) -> Iterator[FastAPI]:
    """The app with its lifespan running and its models loaded."""
    app = create_app(settings)
    with TestClient(app) as client:
        deadline = time.monotonic() + 300
        while (ready := client.get("/readyz")).status_code != 200:
            if ready.status_code != 503:
                raise RuntimeError(f"/readyz answered {ready.status_code}: {ready.text}")
            if time.monotonic() > deadline:
                raise TimeoutError("models did not load")
            time.sleep(0.1)
        yield app


def fuzz(app: FastAPI, cases_per_operation: int, headers: dict[str, str]) -> FuzzReport:
    """Positive and negative cases for every operation, each sent and checked by every check
    schemathesis has for responses."""
    report = FuzzReport()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
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
                    response = case.call_and_validate(headers=headers)
                    report.statuses[response.status_code] += 1
                except Exception as failure:  # one failed check: count it, keep generating
                    for name in _failed_checks(failure):
                        report.failures[name] += 1
                        report.examples.setdefault(
                            name, f"{case.method} {case.formatted_path}: {failure}"[:600]
                        )

            check()
    return report


def _failed_checks(failure: Exception) -> list[str]:
    inner = getattr(failure, "exceptions", None) or [failure]
    return [getattr(error, "title", None) or type(error).__name__ for error in inner]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases-per-operation", type=int, default=120)
    arguments = parser.parse_args()
    from fusiondesk.service.demo import ensure_demo_model
    from fusiondesk.service.understanding.wiring import build_registry

    base = Settings()
    model_dir = base.resolved_model_dir
    ensure_demo_model(model_dir, build_registry(base), base.cache_dir, progress=False)
    failed = False
    print(f"{'auth':<5} {'cases':>6} {'5xx':>5} {'failures':>9} {'seconds':>8}  statuses")
    for auth in (False, True):
        started = time.perf_counter()
        with serving(fuzz_settings(base, model_dir, auth=auth)) as app:
            headers = {"X-API-Key": ADMIN_KEY} if auth else {}
            report = fuzz(app, arguments.cases_per_operation, headers)
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
