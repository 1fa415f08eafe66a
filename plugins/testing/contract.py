"""The plugin contract as executable checks, for any plugin author's test suite.

Two ways in:

* ``check_plugin_contract(MyPlugin, sample_parts, bad_parts)`` runs every check and raises one
  ``ContractViolation`` that lists everything wrong;
* subclass ``PluginContractTests`` in a pytest module: one test per check, so a failure names
  the broken rule.

The checks mirror what the framework relies on: valid declarations, payloads that survive the
worker boundary (msgpack, as the Celery workers ship them), ``encode`` returning one
``Encoding`` per payload with the declared float32 shapes, batches that agree with single
encodes, deterministic output (torch modules in eval mode), and bad input refused with the
SDK's ``InputError`` types (the API turns those into 4xx answers; anything else is a 500).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgpack
import numpy as np

from fusiondesk.plugins.base import Encoding, ModalityPlugin, Part, Payload, PluginConfig
from fusiondesk.plugins.errors import InputError, PluginError
from fusiondesk.plugins.registry import validate_plugin_class

BadPart = Part | tuple[Part, type[InputError]]
"""A part ``preprocess`` must refuse, optionally with the ``InputError`` subclass expected."""

ATOL = 1e-5
"""How far a batched encode may drift from a single one (padding changes float sums a little)."""


class ContractViolation(AssertionError):
    """The plugin breaks the contract; the message says which rule and how to fix it."""


def worker_roundtrip(value: Any) -> Any:
    """What a value looks like after crossing the worker boundary (kombu's msgpack settings)."""
    packed = msgpack.packb(value, use_bin_type=True)
    return msgpack.unpackb(packed, raw=False)


def make_plugin(
    plugin_or_class: ModalityPlugin | type[ModalityPlugin],
    config: PluginConfig | None = None,
    *,
    device: str = "cpu",
) -> ModalityPlugin:
    """An instance to test: the one given, or a new one built as the registry builds it."""
    if isinstance(plugin_or_class, ModalityPlugin):
        return plugin_or_class
    plugin_cls = _validated(plugin_or_class)
    if config is None:
        try:
            config = plugin_cls.Config()
        except Exception as error:
            raise ContractViolation(
                f"{plugin_cls.name}: Config() fails without settings ({error}); give every "
                "field a default so the plugin loads with no FUSIONDESK_PLUGINS__ settings"
            ) from error
    return plugin_cls(config, device=device)


def check_declaration(plugin: ModalityPlugin) -> None:
    """Class attributes are valid and the fingerprint identifies the embeddings."""
    _validated(type(plugin))
    names = [slot.name for slot in plugin.slots]
    if len(set(names)) != len(names):
        raise ContractViolation(f"{plugin.name}: slot names repeat: {names}")
    fingerprint = plugin.fingerprint()
    if fingerprint != plugin.fingerprint() or plugin.version not in fingerprint:
        raise ContractViolation(
            f"{plugin.name}: fingerprint() must be stable and include the version "
            f"(got {fingerprint!r}); caches and trained models are keyed by it"
        )


def check_payloads(plugin: ModalityPlugin, sample_parts: Sequence[Part]) -> list[Payload]:
    """``preprocess`` takes every sample without loading models; payloads survive msgpack."""
    if not sample_parts:
        raise ContractViolation(f"{plugin.name}: give at least one sample part to check")
    loaded_before = plugin.loaded
    payloads = []
    for index, part in enumerate(sample_parts):
        if part.type not in plugin.part_types:
            raise ContractViolation(
                f"{plugin.name}: sample {index} has type {part.type!r}, which the plugin does "
                f"not claim (part_types={plugin.part_types})"
            )
        try:
            payload = plugin.preprocess(part)
        except InputError as error:
            raise ContractViolation(
                f"{plugin.name}: sample {index} was refused ({error}); samples must be valid"
            ) from error
        if not isinstance(payload, dict):
            raise ContractViolation(
                f"{plugin.name}: preprocess returned {type(payload).__name__}, not a dict"
            )
        problem = _wire_problem(payload, "payload")
        if problem is None and worker_roundtrip(payload) != payload:
            problem = "payload changes in a msgpack round trip"
        if problem is not None:
            raise ContractViolation(
                f"{plugin.name}: sample {index}: {problem}; payloads cross a process boundary, "
                "so use only str, int, float, bool, None, bytes, lists and dicts with str keys"
            )
        payloads.append(payload)
    if plugin.loaded and not loaded_before:
        raise ContractViolation(
            f"{plugin.name}: preprocess loaded the plugin's models; it runs in the API "
            "process, which does not load them when a worker encodes"
        )
    return payloads


def check_encodings(plugin: ModalityPlugin, payloads: Sequence[Payload]) -> list[Encoding]:
    """One ``Encoding`` per payload, declared slots only, float32 of the declared shape."""
    plugin.load()
    dims = {slot.name: slot.dim for slot in plugin.slots}
    encodings: list[Encoding] = []
    for start in range(0, len(payloads), plugin.max_batch_size):
        batch = payloads[start : start + plugin.max_batch_size]
        result = plugin.encode(batch)
        if not isinstance(result, list) or len(result) != len(batch):
            got = len(result) if isinstance(result, list) else type(result).__name__
            raise ContractViolation(
                f"{plugin.name}: encode got {len(batch)} payloads and returned {got}; return a "
                "list with one Encoding per payload, in order"
            )
        encodings.extend(result)
    for index, encoding in enumerate(encodings):
        where = f"{plugin.name}: sample {index}"
        if not isinstance(encoding, Encoding):
            raise ContractViolation(f"{where}: encode returned {type(encoding).__name__}")
        if not encoding.slots:
            raise ContractViolation(f"{where}: produced no slot; pick samples with content")
        for name, vector in encoding.slots.items():
            if name not in dims:
                raise ContractViolation(f"{where}: slot {name!r} is not declared in 'slots'")
            if not isinstance(vector, np.ndarray) or vector.dtype != np.float32:
                kind = getattr(vector, "dtype", type(vector).__name__)
                raise ContractViolation(f"{where}: slot {name!r} is {kind}, not float32 ndarray")
            if vector.shape != (dims[name],):
                raise ContractViolation(
                    f"{where}: slot {name!r} has shape {vector.shape}, declared ({dims[name]},)"
                )
            if not np.isfinite(vector).all():
                raise ContractViolation(f"{where}: slot {name!r} holds NaN or infinity")
        try:
            json.dumps(encoding.details)
        except (TypeError, ValueError) as error:
            raise ContractViolation(
                f"{where}: details are not JSON-serialisable ({error}); they go into API answers"
            ) from error
    return encodings


def check_batching(plugin: ModalityPlugin, payloads: Sequence[Payload]) -> None:
    """A payload encodes the same alone as inside a full batch (the batcher mixes requests)."""
    # Each payload meets different neighbours (and paddings) in the two halves.
    together = plugin.embed([*payloads, *reversed(payloads)])
    for index, payload in enumerate(payloads):
        [alone] = plugin.embed([payload])
        _assert_same(plugin, alone, together[index], f"sample {index} alone vs in a batch")
        _assert_same(plugin, alone, together[-1 - index], f"sample {index} alone vs in a batch")


def check_determinism(plugin: ModalityPlugin, payloads: Sequence[Payload]) -> None:
    """Models are in eval mode and the same payloads encode to the same vectors."""
    plugin.load()
    for name, module in _torch_modules(plugin):
        if module.training:
            raise ContractViolation(
                f"{plugin.name}: torch module self.{name} is in training mode; call .eval() in "
                "setup() so dropout and batch norm do not make answers random"
            )
    first = plugin.embed(list(payloads))
    second = plugin.embed(list(payloads))
    for index, (one, two) in enumerate(zip(first, second, strict=True)):
        _assert_same(plugin, one, two, f"sample {index} encoded twice")


def check_rejections(plugin: ModalityPlugin, bad_parts: Sequence[BadPart]) -> None:
    """Every bad part is refused by ``preprocess`` with an ``InputError`` (the expected one)."""
    for index, bad in enumerate(bad_parts):
        part, expected = bad if isinstance(bad, tuple) else (bad, InputError)
        where = f"{plugin.name}: bad part {index} ({part.type})"
        try:
            plugin.preprocess(part)
        except expected as error:
            if not (isinstance(error.code, str) and error.code and error.message):
                raise ContractViolation(f"{where}: the error needs a code and a message") from error
            continue
        except Exception as error:
            raise ContractViolation(
                f"{where}: raised {type(error).__name__} ({error}); raise "
                f"{expected.__name__} from fusiondesk.plugins.errors so the API answers 4xx, "
                "not 500"
            ) from error
        raise ContractViolation(f"{where}: was accepted; expected {expected.__name__}")


@dataclass
class ContractReport:
    plugin: str
    passed: list[str] = field(default_factory=list)


def check_plugin_contract(
    plugin_or_class: ModalityPlugin | type[ModalityPlugin],
    sample_parts: Sequence[Part],
    bad_parts: Sequence[BadPart] = (),
    *,
    config: PluginConfig | None = None,
) -> ContractReport:
    """Run every check; raise one ``ContractViolation`` listing all failures, else report."""
    plugin = make_plugin(plugin_or_class, config)
    report = ContractReport(plugin.name)
    failures: list[str] = []
    payloads: list[Payload] = []

    def run(name: str, check: Callable[[], object]) -> None:
        try:
            check()
        except ContractViolation as violation:
            failures.append(f"{name}: {violation}")
        except PluginError as error:
            failures.append(f"{name}: {type(error).__name__}: {error}")
        else:
            report.passed.append(name)

    run("declaration", lambda: check_declaration(plugin))
    run("payloads", lambda: payloads.extend(check_payloads(plugin, sample_parts)))
    run("rejections", lambda: check_rejections(plugin, bad_parts))
    if payloads:
        run("encodings", lambda: check_encodings(plugin, payloads))
        run("batching", lambda: check_batching(plugin, payloads))
        run("determinism", lambda: check_determinism(plugin, payloads))
    if failures:
        raise ContractViolation(
            f"plugin {plugin.name!r} breaks the contract:\n  " + "\n  ".join(failures)
        )
    return report


class PluginContractTests:
    """Subclass as ``TestMyPlugin`` in a pytest module to get one test per contract rule.

    Set ``plugin_class`` and ``sample_parts`` (valid parts), and ``bad_parts`` (parts to be
    refused, optionally as ``(part, ExpectedInputError)``). Override ``make_plugin`` to build
    the plugin differently, e.g. a subclass whose ``setup`` uses a fake encoder.
    """

    plugin_class: ClassVar[type[ModalityPlugin]]
    sample_parts: ClassVar[Sequence[Part]]
    bad_parts: ClassVar[Sequence[BadPart]] = ()
    config: ClassVar[PluginConfig | None] = None

    _instances: ClassVar[dict[type[PluginContractTests], ModalityPlugin]] = {}

    def make_plugin(self) -> ModalityPlugin:
        return make_plugin(self.plugin_class, self.config)

    @property
    def plugin(self) -> ModalityPlugin:
        """One instance per test class: models load once, not once per test."""
        cls = type(self)
        if cls not in PluginContractTests._instances:
            PluginContractTests._instances[cls] = self.make_plugin()
        return PluginContractTests._instances[cls]

    def payloads(self) -> list[Payload]:
        return [self.plugin.preprocess(part) for part in self.sample_parts]

    def test_declaration_is_valid(self) -> None:
        check_declaration(self.plugin)

    def test_preprocess_payloads_cross_the_worker_boundary(self) -> None:
        # A fresh instance: preprocess must work before (and without) any model loading.
        check_payloads(self.make_plugin(), self.sample_parts)

    def test_encode_returns_declared_float32_slots(self) -> None:
        check_encodings(self.plugin, self.payloads())

    def test_batches_agree_with_single_encodes(self) -> None:
        check_batching(self.plugin, self.payloads())

    def test_encoding_is_deterministic_in_eval_mode(self) -> None:
        check_determinism(self.plugin, self.payloads())

    def test_bad_input_is_refused_with_input_errors(self) -> None:
        check_rejections(self.plugin, self.bad_parts)


def _validated(plugin_cls: type[ModalityPlugin]) -> type[ModalityPlugin]:
    try:
        return validate_plugin_class(plugin_cls, getattr(plugin_cls, "__name__", "plugin"))
    except PluginError as error:
        raise ContractViolation(str(error)) from error


def _wire_problem(value: Any, path: str) -> str | None:
    """Where a value stops being msgpack-safe, e.g. ``payload['pages'][0] is a tuple``."""
    if value is None or isinstance(value, str | bytes | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is {value}"
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (problem := _wire_problem(item, f"{path}[{index}]")) is not None:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has the non-str key {key!r}"
            if (problem := _wire_problem(item, f"{path}[{key!r}]")) is not None:
                return problem
        return None
    return f"{path} is a {type(value).__name__}"


def _torch_modules(plugin: ModalityPlugin) -> list[tuple[str, Any]]:
    """The plugin's torch modules, found without importing torch for plugins that lack it."""
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    return [
        (name, value) for name, value in vars(plugin).items() if isinstance(value, torch.nn.Module)
    ]


def _assert_same(plugin: ModalityPlugin, one: Encoding, two: Encoding, what: str) -> None:
    if sorted(one.slots) != sorted(two.slots):
        raise ContractViolation(
            f"{plugin.name}: {what}: slots differ ({sorted(one.slots)} vs {sorted(two.slots)})"
        )
    for name, vector in one.slots.items():
        if not np.allclose(vector, two.slots[name], atol=ATOL, rtol=1e-4):
            drift = float(np.abs(vector - two.slots[name]).max())
            raise ContractViolation(
                f"{plugin.name}: {what}: slot {name!r} differs by up to {drift:.2e}; encoding "
                "must not depend on batch neighbours or randomness"
            )
