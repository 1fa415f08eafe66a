"""A torch module as an ONNX Runtime session: for plugins (and the core) that serve on CPU.

ONNX Runtime runs a whole graph without Python between its operators, fuses what it can, and
keeps its own small thread pool, so a model's inference costs a fraction of the same forward
through torch. The session is exported from the loaded weights (nothing is downloaded), so a
fine-tuned model gets its own graph; training still runs the torch module.

Exporting traces the whole module: about 2 s for MiniLM on two idle cores, several times that
on a busy machine, paid by every process start (an API restart, a new worker). With a graph
cache (``use_graph_cache``, which the service points at its cache folder) the exported graph is
kept on disk under a digest of the weights, the inputs and the exporter's versions, so a start
with the same weights reads it back, and changed weights can never meet a stale graph.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

OPSET = 17
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
KEPT_GRAPHS = 16
"""Graphs kept in the cache, the most recently used (a fine-tuned encoder's is ~90 MB)."""
_graph_cache: list[Path] = []
"""The folder exported graphs are kept in; empty: none are kept."""


def use_graph_cache(directory: Path | None) -> None:
    """Keep exported graphs in ``directory`` (None: export at every start)."""
    _graph_cache[:] = [] if directory is None else [directory]


def export_session(
    module: nn.Module,
    example: Sequence[torch.Tensor],
    *,
    input_names: Sequence[str],
    output_name: str,
    dynamic_axes: dict[str, dict[int, str]],
    threads: int,
    int8: bool = False,
) -> Any | None:
    """``module`` (in eval mode) as an ``onnxruntime.InferenceSession``; None when ONNX Runtime
    is missing or the exporter cannot trace the module (the caller keeps torch then).

    ``threads``: the session's intra-op threads. No spinning between calls: the cores are
    shared with the event loop and the other models. ``int8``: with its weights quantised
    (``quantized_int8``).
    """

    def build() -> bytes | None:
        graph = export_graph(module, example, input_names, output_name, dynamic_axes)
        return quantized_int8(graph) if int8 and graph is not None else graph

    def identity() -> bytes:
        kind = b"int8" if int8 else b"float32"
        return kind + module_identity(module, example, input_names, output_name, dynamic_axes)

    serialized = kept_graph(identity, build)
    return None if serialized is None else graph_session(serialized, threads)


def quantized_int8(serialized: bytes) -> bytes:
    """The graph with its matrix weights stored as int8 and its activations quantised at each
    call (ONNX Runtime's dynamic quantisation): a quarter of the weight bytes to read per
    forward, which is most of a small model's time when the caches have just been flushed."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:  # no ONNX Runtime: no session either (``graph_session``)
        return serialized

    root = logging.getLogger()
    advice = _QuantisationAdvice()
    root.addFilter(advice)  # the quantiser's root-logger advice to pre-process a graph
    try:
        with tempfile.TemporaryDirectory() as directory:
            float_graph = Path(directory) / "float.onnx"
            int8_graph = Path(directory) / "int8.onnx"
            float_graph.write_bytes(serialized)
            quantize_dynamic(float_graph, int8_graph, weight_type=QuantType.QInt8)
            return int8_graph.read_bytes()
    finally:
        root.removeFilter(advice)


class _QuantisationAdvice(logging.Filter):
    """Drops ONNX Runtime's advice to run shape pre-processing before quantising: it speeds
    up graphs with convolutions, not a few matrix products, and would land in the service's
    log at every first start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def graph_session(serialized: bytes, threads: int) -> Any | None:
    """An ONNX Runtime session of a serialized graph; None without ONNX Runtime."""
    try:
        import onnxruntime
    except ImportError:
        return None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(serialized, options, providers=["CPUExecutionProvider"])


def kept_graph(identity: Callable[[], bytes], build: Callable[[], bytes | None]) -> bytes | None:
    """The graph kept under ``identity`` (everything the graph depends on), else ``build()``'s,
    kept for the next start. ``identity`` is only computed with a graph cache in use."""
    if not _graph_cache:
        return build()
    try:
        import onnxruntime
    except ImportError:
        return None
    digest = hashlib.blake2b(identity(), digest_size=20)
    digest.update(repr((OPSET, torch.__version__, onnxruntime.__version__)).encode())
    path = _graph_cache[0] / f"{digest.hexdigest()}.onnx"
    serialized = _read(path)
    if serialized is None:
        serialized = build()
        if serialized is not None:
            _keep(path, serialized)
    return serialized


def export_graph(
    module: nn.Module,
    example: Sequence[torch.Tensor],
    input_names: Sequence[str],
    output_name: str,
    dynamic_axes: dict[str, dict[int, str]],
) -> bytes | None:
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # Transformer layers' fused inference kernel has no ONNX form; their plain ops do.
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with (
            tempfile.TemporaryDirectory() as directory,
            warnings.catch_warnings(),
            torch.inference_mode(False),
            torch.no_grad(),
        ):
            graph = Path(directory) / "module.onnx"
            warnings.simplefilter("ignore")  # the exporter's notes on ops it rewrites
            torch.onnx.export(
                module.eval(),
                tuple(example),
                graph,
                input_names=list(input_names),
                output_names=[output_name],
                dynamic_axes=dynamic_axes,
                opset_version=OPSET,
                dynamo=False,
            )
            return graph.read_bytes()
    except Exception as error:  # an architecture the exporter cannot trace
        logger.warning("%s stays on torch: ONNX export failed (%s)", type(module).__name__, error)
        return None
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def module_identity(
    module: nn.Module,
    example: Sequence[torch.Tensor],
    input_names: Sequence[str],
    output_name: str,
    dynamic_axes: dict[str, dict[int, str]],
) -> bytes:
    """Everything ``module``'s trace depends on: the code and plain attributes of every layer
    (a constant like a temperature is baked into the graph), the weights and the inputs."""
    digest = hashlib.blake2b(digest_size=20)
    signature = (
        list(input_names),
        [(tensor.dtype, tensor.dim()) for tensor in example],
        output_name,
        sorted((name, sorted(axes.items())) for name, axes in dynamic_axes.items()),
    )
    digest.update(repr(signature).encode())
    layer_types = dict.fromkeys(type(layer) for layer in module.modules())
    for module_name in sorted({layer_type.__module__ for layer_type in layer_types}):
        digest.update(module_code(module_name))
    digest.update(repr([layer_type.__qualname__ for layer_type in layer_types]).encode())
    for name, layer in module.named_modules():
        digest.update(f"{name}:{_plain_attributes(layer)}".encode())
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
            digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.digest()


@functools.cache
def module_code(module_name: str) -> bytes:
    """The source file of a loaded module, for identities (whole files: ``inspect.getsource``
    of each layer's class cost a third of a second of every start)."""
    path = getattr(sys.modules.get(module_name), "__file__", None)
    try:
        return Path(path).read_bytes() if path else module_name.encode()
    except OSError:  # defined where no source is kept: its name must do
        return module_name.encode()


def _plain_attributes(layer: nn.Module) -> str:
    """The layer's own attributes, not its parameters, buffers or sub-layers (hashed apart)."""
    own = {
        key: value
        for key, value in vars(layer).items()
        if key not in {"_parameters", "_buffers", "_modules"} and not key.startswith("_")
    }
    # Object addresses would make every start a new key.
    return ADDRESS.sub("", repr(sorted(own.items(), key=lambda item: item[0])))


def _read(path: Path) -> bytes | None:
    try:
        serialized = path.read_bytes()
        _touch(path)  # recently used: the last to be pruned
    except OSError:
        return None
    return serialized


def _touch(path: Path) -> None:
    # The clock of the ordinary touch ticks every few milliseconds: uses that close together
    # would tie, and the pruning would pick between them at random.
    now = time.time_ns()
    os.utime(path, ns=(now, now))


def _keep(path: Path, serialized: bytes) -> None:
    """Write the graph whole or not at all (processes starting together may race here), and
    prune the least recently used beyond ``KEPT_GRAPHS`` (every retrained model adds one)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as part:
            part.write(serialized)
        os.chmod(part.name, 0o644)  # private by default; the cache may serve several users
        os.replace(part.name, path)
        _touch(path)
        kept = sorted(path.parent.glob("*.onnx"), key=lambda graph: graph.stat().st_mtime)
        for stale in kept[:-KEPT_GRAPHS]:
            stale.unlink(missing_ok=True)
    except OSError as error:  # a read-only or full cache costs the next start an export
        logger.warning("could not keep the exported graph in %s: %s", path.parent, error)
