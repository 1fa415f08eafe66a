from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from fusiondesk.plugins.text.coverage import english_encoder_can_read
from fusiondesk.plugins.text.encoder import packaged_minilm_path


@pytest.fixture(scope="module")
def tokenizer() -> object:
    return AutoTokenizer.from_pretrained(str(packaged_minilm_path()), local_files_only=True)


@pytest.mark.parametrize(
    "text",
    [
        "I was charged twice for the same card payment",
        # Rare words split into fragments; the function words show the text is English.
        "What is a disposable virtual card?",
        "what does assiduous mean",
        "define antebellum",
        "my top-up via Apple Pay didn't go through",
    ],
)
def test_english_reaches_the_english_encoder(tokenizer: object, text: str) -> None:
    assert english_encoder_can_read(tokenizer, text)


@pytest.mark.parametrize(
    "text",
    [
        "me cobraron dos veces el mismo pago con tarjeta",
        # Whole-token words, but written the way English is not.
        "¿Mi PIN viene con mi tarjeta?",
        "¿cuáles son los tipos de cambio?",
        "同一笔卡付款被扣了两次钱",
    ],
)
def test_other_languages_do_not(tokenizer: object, text: str) -> None:
    assert not english_encoder_can_read(tokenizer, text)
