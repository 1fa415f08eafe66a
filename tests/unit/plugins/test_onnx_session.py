"""The exported-graph cache of ``fusiondesk.plugins.onnx_session``: a restart reads the graph
back instead of tracing the module again, and nothing the trace depends on can go stale."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from fusiondesk.plugins import onnx_session
from fusiondesk.plugins.onnx_session import export_session, use_graph_cache

pytest.importorskip("onnxruntime")


class Scaled(nn.Module):
    """A layer with a plain attribute the trace bakes in as a constant."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.scale = scale

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = self.linear(values) * self.scale
        return output


EXAMPLE = torch.arange(8, dtype=torch.float32).reshape(2, 4)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    use_graph_cache(tmp_path)
    yield tmp_path
    use_graph_cache(None)


def _session(module: nn.Module, *, int8: bool = False) -> object:
    session = export_session(
        module,
        [EXAMPLE],
        input_names=["values"],
        output_name="out",
        dynamic_axes={"values": {0: "batch"}, "out": {0: "batch"}},
        threads=1,
        int8=int8,
    )
    assert session is not None
    return session


def _run(session: object, module: nn.Module) -> None:
    rows = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    [got] = session.run(None, {"values": rows})  # type: ignore[attr-defined]
    with torch.no_grad():
        expected = module(torch.from_numpy(rows)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_a_second_start_reads_the_kept_graph_without_tracing(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = Scaled(2.0).eval()
    _run(_session(module), module)
    assert len(list(cache.glob("*.onnx"))) == 1

    def no_export(*_: object) -> bytes:
        raise AssertionError("traced again although the graph was kept")

    monkeypatch.setattr(onnx_session, "export_graph", no_export)
    _run(_session(module), module)


def test_new_weights_or_a_new_constant_get_a_graph_of_their_own(cache: Path) -> None:
    module = Scaled(2.0).eval()
    _session(module)
    with torch.no_grad():
        module.linear.weight.add_(1.0)
    _run(_session(module), module)  # not the graph of the old weights
    module.scale = 3.0
    _run(_session(module), module)  # not the graph with the old constant
    assert len(list(cache.glob("*.onnx"))) == 3


def test_an_int8_graph_is_kept_apart_with_its_weights_quantised(
    cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import onnx

    module = Scaled(2.0).eval()
    _session(module)
    _session(module, int8=True)
    kept = {path: onnx.load(path) for path in cache.glob("*.onnx")}
    assert len(kept) == 2  # one graph per kind: an int8 start never gets the float graph
    int8_weights = [
        [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.INT8]
        for model in kept.values()
    ]
    assert sorted(map(bool, int8_weights)) == [False, True]
    assert "pre-processing" not in caplog.text


def test_without_a_cache_nothing_is_written(tmp_path: Path) -> None:
    use_graph_cache(None)
    module = Scaled(2.0).eval()
    _run(_session(module), module)
    assert not list(tmp_path.iterdir())


def test_an_unwritable_cache_costs_an_export_not_the_session(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")  # a file where the cache folder should be
    use_graph_cache(blocked / "graphs")
    try:
        module = Scaled(2.0).eval()
        _run(_session(module), module)
    finally:
        use_graph_cache(None)


def test_the_least_recently_used_graphs_are_pruned(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_session, "KEPT_GRAPHS", 2)
    modules = [Scaled(scale).eval() for scale in (1.0, 2.0, 3.0)]
    first = _session(modules[0])
    _session(modules[1])
    _run(first, modules[0])
    _session(modules[0])  # read back: now the most recently used
    _session(modules[2])
    assert len(list(cache.glob("*.onnx"))) == 2

    def no_export(*_: object) -> bytes:
        raise AssertionError("the most recently used graph was pruned")

    monkeypatch.setattr(onnx_session, "export_graph", no_export)
    _session(modules[0])
