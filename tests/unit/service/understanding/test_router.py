from __future__ import annotations

import asyncio

import numpy as np
import pytest

from fusiondesk.plugins import InvalidInputError, Part, PluginRegistry
from fusiondesk.service.errors import RequestRejectedError
from fusiondesk.service.understanding.executor import InlineExecutor
from fusiondesk.service.understanding.fusion import (
    FusionConfig,
    FusionModel,
    IntentClassifier,
    SlotConfig,
)
from fusiondesk.service.understanding.router import Router, merge_slots
from tests.unit.fakes import FakeCaptionPlugin, FakeTextPlugin


def _router(slots: list[SlotConfig]) -> Router:
    registry = PluginRegistry()
    registry.register(FakeTextPlugin())
    registry.register(FakeCaptionPlugin())
    model = FusionModel(FusionConfig(intents=["x", "y"], slots=slots, hidden_dim=8))
    return Router(registry, InlineExecutor(registry), IntentClassifier(model))


TEXT_SLOT = SlotConfig(name="text", dim=8, space="text")


def test_parts_reach_their_plugins_and_details_come_back() -> None:
    router = _router([TEXT_SLOT, SlotConfig(name="caption_text", dim=8, space="text")])
    parts = [Part("text", text="hello"), Part("caption", text="error 504")]
    understanding = asyncio.run(router.understand(parts))
    assert [p.plugin for p in understanding.parts] == ["fake_text", "fake_caption"]
    assert understanding.parts[1].details == {"caption": "error 504"}
    assert understanding.prediction.intent in {"x", "y"}
    assert set(understanding.timings_ms) == {"preprocess", "encode", "classify"}


def test_text_only_model_reads_a_caption_through_the_shared_space() -> None:
    router = _router([TEXT_SLOT])
    by_caption = asyncio.run(router.understand([Part("caption", text="same words")]))
    by_text = asyncio.run(router.understand([Part("text", text="same words")]))
    assert by_caption.prediction == by_text.prediction


def test_a_text_only_model_lets_the_surest_part_speak_and_says_what_each_part_gave() -> None:
    router = _router([TEXT_SLOT])
    typed, attached = Part("text", text="see attached"), Part("caption", text="error 504")
    alone = [asyncio.run(router.understand([part])).prediction for part in (typed, attached)]
    both = asyncio.run(router.understand([typed, attached]))
    surest = max(alone, key=lambda prediction: prediction.confidence)
    assert both.prediction.intent == surest.intent
    assert both.prediction.confidence == pytest.approx(surest.confidence)
    gave = [part.prediction for part in both.parts]
    assert [p.intent for p in gave if p] == [prediction.intent for prediction in alone]
    assert [p.confidence for p in gave if p] == pytest.approx([a.confidence for a in alone])


def test_a_lone_parts_prediction_is_the_messages_classified_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = _router([TEXT_SLOT])
    batches: list[int] = []
    predict = router.classifier.predict_messages

    def counting(messages, spaces):  # type: ignore[no-untyped-def]
        batches.append(len(messages))
        return predict(messages, spaces)

    monkeypatch.setattr(router.classifier, "predict_messages", counting)
    understanding = asyncio.run(router.understand([Part("text", text="where is my parcel")]))
    [part] = understanding.parts
    assert batches == [1]
    assert part.prediction is not None
    assert part.prediction.intent == understanding.prediction.intent
    assert part.prediction.confidence == understanding.prediction.confidence


def test_a_part_the_model_cannot_read_has_no_prediction() -> None:
    router = _router([SlotConfig(name="caption_text", dim=8)])  # no space: typed text unread
    understanding = asyncio.run(
        router.understand([Part("text", text="hello"), Part("caption", text="error 504")])
    )
    assert understanding.parts[0].prediction is None
    assert understanding.parts[1].prediction is not None


def test_unknown_part_type_is_refused_before_any_encoding() -> None:
    router = _router([TEXT_SLOT])
    with pytest.raises(InvalidInputError, match="accepted part types: caption, text"):
        asyncio.run(router.understand([Part("text", text="hi"), Part("video")]))


def test_invalid_part_raises_the_plugins_error() -> None:
    router = _router([TEXT_SLOT])
    with pytest.raises(InvalidInputError, match="empty"):
        asyncio.run(router.understand([Part("text", text="")]))


def test_message_without_usable_slots_is_rejected() -> None:
    router = _router([SlotConfig(name="image", dim=4)])
    with pytest.raises(RequestRejectedError) as caught:
        asyncio.run(router.understand([Part("text", text="hi")]))
    assert caught.value.code == "no_usable_content"


def test_parts_filling_one_slot_are_averaged() -> None:
    from fusiondesk.plugins import Encoding

    merged = merge_slots(
        [Encoding({"a": np.array([1.0, 3.0])}), Encoding({"a": np.array([3.0, 5.0])})]
    )
    assert merged["a"].tolist() == [2.0, 4.0]
