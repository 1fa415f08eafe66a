"""What crosses the queue: encodings as float32 bytes per slot, errors as plain dicts.

Both sides use these functions, so the format lives in one place. Everything is msgpack-ready:
str, numbers, bytes, lists and dicts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fusiondesk.plugins import Encoding, InputError, InvalidInputError
from fusiondesk.plugins import errors as plugin_errors

WireEncoding = dict[str, Any]


def encoding_to_wire(encoding: Encoding) -> WireEncoding:
    return {
        "slots": {
            name: np.asarray(vector, dtype=np.float32).tobytes()
            for name, vector in encoding.slots.items()
        },
        "details": encoding.details,
    }


def input_error_to_wire(error: InputError) -> WireEncoding:
    """A customer's bad input is an answer, not a failure: it is not retried."""
    return {
        "input_error": {"type": type(error).__name__, "code": error.code, "message": str(error)}
    }


def failure_to_wire(error: Exception) -> WireEncoding:
    """A part of a group that failed on the model: the API sends it again on its own."""
    return {"failed": f"{type(error).__name__}: {error}"}


def encoding_from_wire(wire: WireEncoding) -> Encoding:
    """The encoding, or the plugin's ``InputError`` raised again on this side."""
    if "input_error" in wire:
        fault = wire["input_error"]
        error_class = getattr(plugin_errors, str(fault["type"]), None)
        if not (isinstance(error_class, type) and issubclass(error_class, InputError)):
            error_class = InvalidInputError
        raise error_class(str(fault["message"]), code=str(fault["code"]))
    return Encoding(
        slots={
            name: np.frombuffer(raw, dtype=np.float32).copy() for name, raw in wire["slots"].items()
        },
        details=dict(wire.get("details") or {}),
    )
