"""A worker whose grace period ran out gives its messages back before it exits."""

from __future__ import annotations

from typing import Any

import pytest

from fusiondesk.workers import worker


class HoldingOwner:
    def __init__(self, held: int) -> None:
        self.held = held
        self.withdrawn = False

    def withdraw(self) -> int:
        self.withdrawn = True
        return self.held


class Exited(Exception):
    pass


def _exit(code: int) -> Any:
    raise Exited(code)


def test_the_grace_period_over_returns_the_messages_then_exits_with_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker.os, "_exit", _exit)
    owner = HoldingOwner(held=3)
    with pytest.raises(Exited) as exited:
        worker._give_back_and_exit([owner])  # type: ignore[list-item]
    assert owner.withdrawn and exited.value.args == (1,)


def test_it_exits_even_when_redis_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep of its peers returns the messages then; staying up would block the deploy."""

    class Unreachable(HoldingOwner):
        def withdraw(self) -> int:
            raise ConnectionError("redis is down")

    monkeypatch.setattr(worker.os, "_exit", _exit)
    with pytest.raises(Exited):
        worker._give_back_and_exit([Unreachable(held=1)])  # type: ignore[list-item]
