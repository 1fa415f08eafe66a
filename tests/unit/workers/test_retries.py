"""What a failed single-part task becomes: a retry after a growing delay, then a dead letter."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from celery import Task

from fusiondesk.service.settings import CelerySettings
from fusiondesk.workers.retries import dead_letter, retry_delay_s


def test_retries_back_off_exponentially_then_stop() -> None:
    config = CelerySettings(max_retries=3, retry_backoff_s=0.5)
    delays = [retry_delay_s(config, retries_done) for retries_done in range(5)]
    assert delays == [0.5, 1.0, 2.0, None, None]


def test_no_retries_means_the_first_failure_is_final() -> None:
    assert retry_delay_s(CelerySettings(max_retries=0), 0) is None


def test_a_dead_letter_names_the_task_and_its_payload_keys_not_its_data() -> None:
    request = SimpleNamespace(id="t-1", retries=3, delivery_info={"routing_key": "gpu"})
    task = cast(Task[Any, Any], SimpleNamespace(request=request))
    letter = dead_letter(task, "voice", {"audio": b"secret", "rate": 16000}, OSError("disk"))
    assert letter["task_id"] == "t-1" and letter["plugin"] == "voice"
    assert letter["queue"] == "gpu" and letter["tries"] == 4
    assert letter["error"] == "OSError: disk"
    assert letter["payload_keys"] == ["audio", "rate"]
    assert "secret" not in str(letter)
