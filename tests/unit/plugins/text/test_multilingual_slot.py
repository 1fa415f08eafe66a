from __future__ import annotations

import numpy as np
import pytest

from fusiondesk.plugins.text import MULTILINGUAL_SLOT, TextConfig, TextPlugin

pytestmark = pytest.mark.slow


def test_multilingual_slot_is_filled_only_when_enabled_and_is_cross_lingual() -> None:
    plain = TextPlugin().embed([{"text": "my card was stolen"}])[0]
    assert set(plain.slots) == {"text"}
    plugin = TextPlugin(TextConfig(multilingual=True))
    english, spanish, chinese, other = (
        encoding.slots[MULTILINGUAL_SLOT]
        for encoding in plugin.embed(
            [
                {"text": "my card was stolen"},
                {"text": "me robaron la tarjeta"},
                {"text": "我的卡被偷了"},
                {"text": "what is the weather tomorrow"},
            ]
        )
    )
    assert english.shape == (512,)
    assert float(np.dot(english, spanish)) > float(np.dot(english, other)) + 0.2
    assert float(np.dot(english, chinese)) > float(np.dot(english, other)) + 0.2


def test_texts_the_english_encoder_cannot_read_get_the_multilingual_slot_alone() -> None:
    plugin = TextPlugin(TextConfig(multilingual=True))
    texts = [
        "I was charged twice for the same card payment",
        "me cobraron dos veces el mismo pago con tarjeta",
        "同一笔卡付款被扣了两次钱",
        "my top-up via Apple Pay didn't go through",
    ]
    slots = [set(encoding.slots) for encoding in plugin.embed([{"text": t} for t in texts])]
    both, alone = {"text", MULTILINGUAL_SLOT}, {MULTILINGUAL_SLOT}
    assert slots == [both, alone, alone, both]
    # Without the multilingual slot the English one is all there is: it is always filled.
    assert set(TextPlugin().embed([{"text": texts[1]}])[0].slots) == {"text"}
