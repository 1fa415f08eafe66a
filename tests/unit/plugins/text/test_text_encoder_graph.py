"""The ONNX Runtime graph of the text encoder answers exactly like its torch module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fusiondesk.plugins.onnx_session import use_graph_cache
from fusiondesk.plugins.text.encoder import (
    TORCH_MODEL,
    SentenceEncoder,
    packaged_minilm_path,
    padding_aware_runs,
)

TEXTS = [
    "where is my parcel",
    "I was charged twice for the same card payment, can you refund one of them?",
    "hi",
    "Mi tarjeta no funciona en el cajero",
]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(packaged_minilm_path())


def test_the_graph_gives_the_torch_modules_vectors(encoder: SentenceEncoder) -> None:
    assert encoder._graph is not None, "CPU inference should run the exported graph"
    from_graph = encoder.encode(TEXTS, batch_size=3)  # uneven batches: padding differs
    graph, encoder._graph = encoder._graph, None
    try:
        from_torch = encoder.encode(TEXTS, batch_size=3)
    finally:
        encoder._graph = graph
    np.testing.assert_allclose(from_graph, from_torch, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(from_graph, axis=1), 1.0, atol=1e-5)


def test_training_drops_the_graph_and_eval_exports_the_new_weights(
    encoder: SentenceEncoder,
) -> None:
    before = encoder.encode(TEXTS[:1])
    encoder.train()
    assert encoder._graph is None  # the weights may change now: never answer with old ones
    weight = encoder.transformer.encoder.layer[0].intermediate.dense.weight
    original = weight.detach().clone()
    try:
        weight.data *= 3.0  # what a fine-tuning step does, only cruder
    finally:
        encoder.eval()
    after = encoder.encode(TEXTS[:1])
    assert encoder._graph is not None
    assert not np.allclose(before, after, atol=1e-3)  # the re-exported graph has the new weights
    weight.data.copy_(original)
    encoder.train()
    encoder.eval()
    np.testing.assert_allclose(encoder.encode(TEXTS[:1]), before, atol=1e-5)


def test_a_batch_of_mixed_lengths_gives_each_texts_own_vector(encoder: SentenceEncoder) -> None:
    texts = [*TEXTS, "ok", "x " * 120, *TEXTS[::-1]]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize(
    ("lengths", "call_cost", "runs"),
    [
        ([5, 5, 5, 5], 32, [(0, 4)]),  # equal lengths: padding costs nothing, one pass
        ([4, 4, 4, 4, 60], 32, [(0, 4), (4, 5)]),  # one long text would pad four short ones
        ([4, 4, 4, 4, 60], 1000, [(0, 5)]),  # passes too dear to split
        ([3], 32, [(0, 1)]),
    ],
)
def test_padding_aware_runs(
    lengths: list[int], call_cost: int, runs: list[tuple[int, int]]
) -> None:
    cut = padding_aware_runs(np.array(lengths), call_cost)
    assert [(run.start, run.stop) for run in cut] == runs


def test_a_start_with_the_graph_kept_never_builds_the_torch_model(
    encoder: SentenceEncoder, tmp_path: Path
) -> None:
    use_graph_cache(tmp_path)
    try:
        first = SentenceEncoder(packaged_minilm_path(), lazy=True)
        assert list(tmp_path.glob("*.onnx")), "the exported graph was not kept"
        again = SentenceEncoder(packaged_minilm_path(), lazy=True)
        assert TORCH_MODEL not in again._modules  # served from the kept graph alone
        np.testing.assert_allclose(again.encode(TEXTS), encoder.encode(TEXTS), atol=1e-5)
        np.testing.assert_allclose(first.encode(TEXTS), encoder.encode(TEXTS), atol=1e-5)
        # Whoever trains gets the torch model at once (its parameters are what it trains).
        assert TORCH_MODEL in SentenceEncoder(packaged_minilm_path())._modules
        assert again.train()._graph is None
        assert TORCH_MODEL in again._modules and len(list(again.parameters())) > 0
    finally:
        use_graph_cache(None)
