from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from service.fusion import FusionConfig, FusionModel, IntentClassifier, SlotConfig


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


def test_classifier_maps_unknown_slot_of_shared_space() -> None:
    classifier = IntentClassifier(_model())
    transcript = np.ones(6, dtype=np.float32)
    aligned = classifier.align({"voice_transcript": transcript}, {"voice_transcript": "text"})
    assert list(aligned) == ["text"]
    # A slot of an unknown space, or one whose target is taken, is ignored.
    aligned = classifier.align(
        {"text": transcript, "voice_transcript": transcript * 2, "other": transcript},
        {"voice_transcript": "text", "other": "elsewhere"},
    )
    assert list(aligned) == ["text"] and aligned["text"][0] == 1.0


def test_low_confidence_and_explicit_class_are_out_of_scope() -> None:
    model = _model(out_of_scope="out_of_scope")
    slots = {"text": np.ones(6, dtype=np.float32)}
    assert IntentClassifier(model, threshold=1.0).predict([slots])[0].out_of_scope
    prediction = IntentClassifier(model, threshold=0.0).predict([slots])[0]
    assert prediction.out_of_scope == (prediction.intent == "out_of_scope")
    assert len(prediction.ranking) == 4
    assert prediction.ranking[0].confidence == pytest.approx(prediction.confidence)


def test_missing_model_dir_says_how_to_train(tmp_path: Path) -> None:
    from service.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="fusiondesk train"):
        IntentClassifier.load(tmp_path)
