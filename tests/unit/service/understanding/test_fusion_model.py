from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fusiondesk.service.understanding.fusion import (
    FusionConfig,
    FusionModel,
    IntentClassifier,
    SlotConfig,
)
from tests.paths import FIXTURES


def _model(out_of_scope: str | None = None) -> FusionModel:
    torch.manual_seed(0)
    intents = ["a", "b", "c"] + ([out_of_scope] if out_of_scope else [])
    config = FusionConfig(
        intents=intents,
        slots=[SlotConfig(name="text", dim=6, space="text"), SlotConfig(name="image", dim=4)],
        hidden_dim=16,
        out_of_scope_intent=out_of_scope,
    )
    return FusionModel(config).eval()


def _inputs(batch: int = 5) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    values = {
        "text": torch.randn(batch, 6, generator=generator),
        "image": torch.randn(batch, 4, generator=generator),
    }
    present = {
        "text": torch.ones(batch, dtype=torch.bool),
        "image": torch.ones(batch, dtype=torch.bool),
    }
    return values, present


def test_forward_gives_one_logit_per_intent() -> None:
    values, present = _inputs()
    assert _model()(values, present).shape == (5, 3)


def test_masked_slot_values_cannot_change_the_output() -> None:
    model = _model()
    values, present = _inputs()
    present["image"][:] = False
    before = model(values, present)
    values["image"] = torch.randn(5, 4) * 100
    assert torch.equal(before, model(values, present))


def test_present_slot_values_do_change_the_output() -> None:
    model = _model()
    values, present = _inputs()
    before = model(values, present)
    values["image"] = values["image"] * torch.tensor([2.0, -1.0, 0.5, 3.0])
    assert not torch.allclose(before, model(values, present))


def test_save_load_round_trip_gives_identical_logits(tmp_path: Path) -> None:
    model = _model()
    values, present = _inputs()
    model.save(tmp_path)
    loaded = FusionModel.load(tmp_path)
    assert loaded.config == model.config
    assert torch.equal(model(values, present), loaded(values, present))


def test_classifier_reads_an_unknown_slot_of_a_shared_space_as_its_own() -> None:
    classifier = IntentClassifier(_model())
    transcript = np.ones(6, dtype=np.float32)
    readings = classifier.readings({"voice_transcript": transcript}, {"voice_transcript": "text"})
    assert [list(reading) for reading in readings] == [["text"]]
    # A slot of an unknown space is ignored; nothing readable gives no reading.
    assert classifier.readings({"other": transcript}, {"other": "elsewhere"}) == []


def test_a_caption_does_not_silence_a_text_space_attachment() -> None:
    """Typed text and a transcript each get a reading; the model's other slots stay in both."""
    classifier = IntentClassifier(_model())
    caption, transcript, image = np.ones(6), np.full(6, 2.0), np.ones(4)
    readings = classifier.readings(
        {"text": caption, "voice_transcript": transcript, "image": image},
        {"voice_transcript": "text", "image": None},
    )
    assert len(readings) == 2
    assert readings[0]["text"][0] == 1.0 and readings[1]["text"][0] == 2.0
    assert all("image" in reading for reading in readings)


def test_the_surest_reading_speaks_for_the_message() -> None:
    classifier = IntentClassifier(_model())
    generator = np.random.default_rng(0)
    caption, transcript = generator.normal(size=(2, 6)).astype(np.float32)
    spaces = {"voice_transcript": "text"}
    alone = classifier.probabilities([{"text": caption}, {"text": transcript}])
    surest = alone[int(alone.max(axis=1).argmax())]
    both = classifier.message_probabilities(
        [{"text": caption, "voice_transcript": transcript}], spaces
    )
    np.testing.assert_allclose(both[0], surest, rtol=1e-6)
    assert not np.allclose(alone[0], alone[1])  # the two readings really differ


def test_low_confidence_and_explicit_class_are_out_of_scope() -> None:
    model = _model(out_of_scope="out_of_scope")
    slots = {"text": np.ones(6, dtype=np.float32)}
    assert IntentClassifier(model, threshold=1.0).predict([slots])[0].out_of_scope
    prediction = IntentClassifier(model, threshold=0.0).predict([slots])[0]
    assert prediction.out_of_scope == (prediction.intent == "out_of_scope")
    assert len(prediction.ranking) == 4
    assert prediction.ranking[0].confidence == pytest.approx(prediction.confidence)


def test_missing_model_dir_says_how_to_train(tmp_path: Path) -> None:
    from fusiondesk.service.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="fusiondesk train"):
        IntentClassifier.load(tmp_path)


def test_format_1_model_loads_with_its_logits() -> None:
    """A model saved before heads moved under ``members`` still serves the same answers."""
    directory = FIXTURES / "fusion_format1"
    generator = torch.Generator().manual_seed(1)
    values = {
        "text": torch.randn(4, 6, generator=generator),
        "image": torch.randn(4, 4, generator=generator),
    }
    present = {
        "text": torch.tensor([True, True, False, True]),
        "image": torch.tensor([True, False, True, False]),
    }
    expected = torch.tensor(json.loads((directory / "expected_logits.json").read_text()))
    loaded = FusionModel.load(directory)
    assert loaded.config.format_version == 2
    assert torch.allclose(loaded(values, present), expected, atol=1e-6)


def test_shared_projection_reads_slots_of_one_space_alike() -> None:
    torch.manual_seed(0)
    config = FusionConfig(
        intents=["a", "b"],
        slots=[
            SlotConfig(name="text", dim=6, space="text"),
            SlotConfig(name="voice_transcript", dim=6, space="text"),
        ],
        hidden_dim=8,
        strategy="weighted_sum",
        shared_projections=True,
    )
    model = FusionModel(config).eval()
    assert list(model.members[0].projections) == ["space_text"]
    vector = torch.randn(3, 6)
    only = {"text": torch.ones(3, dtype=torch.bool), "voice_transcript": torch.zeros(3).bool()}
    swapped = {name: ~mask for name, mask in only.items()}
    values = {"text": vector, "voice_transcript": vector}
    # One projection and (for weighted_sum) renormalised weights: the same vector, either slot.
    assert torch.allclose(model(values, only), model(values, swapped))


def test_shared_projection_needs_one_width_per_space() -> None:
    with pytest.raises(ValueError, match="differ in width"):
        FusionConfig(
            intents=["a", "b"],
            slots=[SlotConfig(name="x", dim=6, space="s"), SlotConfig(name="y", dim=4, space="s")],
            shared_projections=True,
        )


def test_ensemble_averages_its_members_logits() -> None:
    torch.manual_seed(0)
    config = FusionConfig(
        intents=["a", "b", "c"], slots=[SlotConfig(name="text", dim=6)], hidden_dim=8, members=3
    )
    model = FusionModel(config).eval()
    values = {"text": torch.randn(5, 6)}
    present = {"text": torch.ones(5, dtype=torch.bool)}
    members = model.member_logits(values, present)
    assert members.shape == (3, 5, 3)
    assert not torch.allclose(members[0], members[1])  # independently initialised
    assert torch.allclose(model(values, present), members.mean(dim=0))
