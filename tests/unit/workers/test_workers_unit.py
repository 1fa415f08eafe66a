"""The wire format, and the backlog's ordering and resume helpers."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fusiondesk.plugins import Encoding, InputTooLargeError
from fusiondesk.service.backlog import _flush, completed_rows
from fusiondesk.workers.wire import encoding_from_wire, encoding_to_wire, input_error_to_wire


def test_encodings_cross_the_wire_as_float32() -> None:
    vector = np.linspace(-1, 1, 384, dtype=np.float64)
    wire = encoding_to_wire(Encoding({"text": vector}, {"lang": "en"}))
    assert isinstance(wire["slots"]["text"], bytes)
    back = encoding_from_wire(wire)
    assert back.slots["text"].dtype == np.float32
    np.testing.assert_allclose(back.slots["text"], vector, rtol=1e-6)
    assert back.details == {"lang": "en"}


def test_input_errors_cross_the_wire_with_their_class() -> None:
    wire = input_error_to_wire(InputTooLargeError("too long", code="text_too_long"))
    with pytest.raises(InputTooLargeError) as raised:
        encoding_from_wire(wire)
    assert raised.value.code == "text_too_long"


def test_results_are_written_in_input_order() -> None:
    out = io.StringIO()
    finished: dict[int, dict[str, Any]] = {2: {"row": 2}, 1: {"row": 1, "error": {}}}
    next_row, counts = _flush(out, finished, 0)
    assert (next_row, counts, out.getvalue()) == (0, (0, 0), "")  # row 0 not done yet
    finished[0] = {"row": 0}
    next_row, counts = _flush(out, finished, 0)
    assert next_row == 3 and counts == (2, 1)
    assert [json.loads(line)["row"] for line in out.getvalue().splitlines()] == [0, 1, 2]


def test_resume_cuts_a_torn_last_line(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert completed_rows(out) == 0
    out.write_text('{"row": 0}\n{"row": 1}\n{"row": 2, "inte')
    assert completed_rows(out) == 2
    assert out.read_text() == '{"row": 0}\n{"row": 1}\n'
