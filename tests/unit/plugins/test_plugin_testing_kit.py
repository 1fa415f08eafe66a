"""The SDK's contract check passes a good plugin and names the rule each broken one breaks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import Field

from fusiondesk.plugins import (
    Encoding,
    InvalidInputError,
    Part,
    Payload,
    PluginConfig,
    UnsupportedInputError,
)
from fusiondesk.plugins.testing import (
    ContractViolation,
    FakeSentenceEncoder,
    FakeTextPlugin,
    PluginContractTests,
    check_plugin_contract,
    worker_roundtrip,
)

SAMPLES = [Part("text", text="where is my parcel"), Part("text", text="refund please")]
BAD = [(Part("text", text=""), InvalidInputError)]


class TestFakeTextPluginContract(PluginContractTests):
    plugin_class = FakeTextPlugin
    sample_parts = SAMPLES
    bad_parts = BAD


def test_a_good_plugin_passes_every_check() -> None:
    report = check_plugin_contract(FakeTextPlugin, SAMPLES, BAD)
    assert report.plugin == "fake_text"
    assert report.passed == [
        "declaration",
        "payloads",
        "rejections",
        "encodings",
        "batching",
        "determinism",
    ]


class TuplePayload(FakeTextPlugin):
    def preprocess(self, part: Part) -> Payload:
        return {"text": part.text, "span": (0, 3)}


class Float64Slots(FakeTextPlugin):
    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        return [Encoding({"text": np.ones(8)}) for _ in payloads]


class WrongShape(FakeTextPlugin):
    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        return [Encoding({"text": np.ones(7, dtype=np.float32)}) for _ in payloads]


class DropsOne(FakeTextPlugin):
    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        return super().encode(payloads)[1:]


class UndeclaredSlot(FakeTextPlugin):
    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        return [Encoding({"extra": np.ones(8, dtype=np.float32)}) for _ in payloads]


class NumpyDetails(FakeTextPlugin):
    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        encodings = super().encode(payloads)
        for encoding in encodings:
            encoding.details["score"] = np.float32(0.5)
        return encodings


class BatchDependent(FakeTextPlugin):
    """Centres each batch on its mean: the answer depends on who else is in the batch."""

    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        vectors = np.stack([e.slots["text"] for e in super().encode(payloads)])
        centred = vectors - vectors.mean(axis=0) + 1.0
        return [Encoding({"text": v.astype(np.float32)}) for v in centred]


class InTrainingMode(FakeTextPlugin):
    def setup(self) -> None:
        self.head = torch.nn.Dropout(p=0.5)  # never .eval()-ed


class Random(FakeTextPlugin):
    def encode(self, payloads: Sequence[Payload]) -> list[Encoding]:
        rng = np.random.default_rng()
        return [Encoding({"text": rng.random(8, dtype=np.float32)}) for _ in payloads]


class AcceptsEverything(FakeTextPlugin):
    def preprocess(self, part: Part) -> Payload:
        return {"text": part.text or "-"}


class RaisesValueError(FakeTextPlugin):
    def preprocess(self, part: Part) -> Payload:
        if not part.text:
            raise ValueError("no text")
        return {"text": part.text}


class WrongErrorType(FakeTextPlugin):
    def preprocess(self, part: Part) -> Payload:
        if not part.text:
            raise UnsupportedInputError("no text")
        return {"text": part.text}


class LoadsInPreprocess(FakeTextPlugin):
    def preprocess(self, part: Part) -> Payload:
        self.load()
        return super().preprocess(part)


class NeedsSettings(PluginConfig):
    api_key: str = Field(min_length=1)


class ConfigWithoutDefaults(FakeTextPlugin):
    Config = NeedsSettings

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__()


class BadName(FakeTextPlugin):
    name = "Bad Name"


@pytest.mark.parametrize(
    ("plugin_class", "rule", "message"),
    [
        (TuplePayload, "payloads", "payload['span'] is a tuple"),
        (Float64Slots, "encodings", "float64, not float32"),
        (WrongShape, "encodings", "shape (7,), declared (8,)"),
        (DropsOne, "encodings", "got 2 payloads and returned 1"),
        (UndeclaredSlot, "encodings", "slot 'extra' is not declared"),
        (NumpyDetails, "encodings", "not JSON-serialisable"),
        (BatchDependent, "batching", "alone vs in a batch"),
        (InTrainingMode, "determinism", "self.head is in training mode"),
        (Random, "determinism", "encoded twice"),
        (AcceptsEverything, "rejections", "was accepted; expected InvalidInputError"),
        (RaisesValueError, "rejections", "raised ValueError"),
        (WrongErrorType, "rejections", "raised UnsupportedInputError"),
        (LoadsInPreprocess, "payloads", "preprocess loaded the plugin's models"),
        (BadName, "", "lowercase identifier"),
        (ConfigWithoutDefaults, "", "Config() fails without settings"),
    ],
)
def test_each_broken_rule_is_named(
    plugin_class: type[FakeTextPlugin], rule: str, message: str
) -> None:
    with pytest.raises(ContractViolation) as caught:
        check_plugin_contract(plugin_class, SAMPLES, BAD)
    assert message in str(caught.value)
    if rule:
        assert f"{rule}: " in str(caught.value)


def test_samples_must_be_of_the_plugins_part_types() -> None:
    with pytest.raises(ContractViolation, match="does not claim"):
        check_plugin_contract(FakeTextPlugin, [Part("image", data=b"x")])


def test_worker_roundtrip_keeps_bytes_and_turns_tuples_into_lists() -> None:
    payload = {"data": b"\x00\xff", "n": 3, "nested": {"xs": (1, 2)}}
    assert worker_roundtrip(payload) == {"data": b"\x00\xff", "n": 3, "nested": {"xs": [1, 2]}}


def test_fake_sentence_encoder_is_deterministic_and_records_batches() -> None:
    encoder = FakeSentenceEncoder(dim=16)
    first = encoder.encode(["a", "b", "a"])
    assert first.shape == (3, 16) and first.dtype == np.float32
    np.testing.assert_array_equal(first[0], first[2])
    assert not np.allclose(first[0], first[1])
    assert encoder.encode([]).shape == (0, 16)
    assert encoder.calls == [3, 0]
