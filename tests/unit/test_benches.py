"""Every benchmark script still imports: a merge that renames what one bench takes from another
(bench/fusion_messages.py lost ``BANKING77`` that way) fails here, not on the next bench run."""

from __future__ import annotations

import importlib

import pytest

from tests.paths import ROOT

BENCHES = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("name", BENCHES)
def test_the_bench_imports(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Run as scripts, some benches import their neighbours by bare name (``import loadgen``).
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    monkeypatch.syspath_prepend(str(ROOT))
    importlib.import_module(f"bench.{name}")
