"""A torch module as an ONNX Runtime session: for plugins (and the core) that serve on CPU.

ONNX Runtime runs a whole graph without Python between its operators, fuses what it can, and
keeps its own small thread pool, so a model's inference costs a fraction of the same forward
through torch. The session is exported from the loaded weights (nothing is downloaded), so a
fine-tuned model gets its own graph; training still runs the torch module.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

logger = logging.getLogger(__name__)

OPSET = 17


def export_session(
    module: nn.Module,
    example: Sequence[torch.Tensor],
    *,
    input_names: Sequence[str],
    output_name: str,
    dynamic_axes: dict[str, dict[int, str]],
    threads: int,
) -> Any | None:
    """``module`` (in eval mode) as an ``onnxruntime.InferenceSession``; None when ONNX Runtime
    is missing or the exporter cannot trace the module (the caller keeps torch then).

    ``threads``: the session's intra-op threads. No spinning between calls: the cores are
    shared with the event loop and the other models.
    """
    try:
        import onnxruntime
    except ImportError:
        return None
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
            serialized = graph.read_bytes()
    except Exception as error:  # an architecture the exporter cannot trace
        logger.warning("%s stays on torch: ONNX export failed (%s)", type(module).__name__, error)
        return None
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(serialized, options, providers=["CPUExecutionProvider"])
