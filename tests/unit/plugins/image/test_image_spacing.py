from __future__ import annotations

import pytest

from fusiondesk.plugins.image.ocr import OcrLine, OcrResult
from fusiondesk.plugins.image.spacing import restore_spaces

BOX = (0, 0, 100, 20)


@pytest.mark.parametrize(
    ("ocr", "restored"),
    [
        ("Iwascontactedbyaseller", "I was contacted by a seller"),
        (
            "Note:Whenaddingmoney,what arethe currencies",
            "Note:When adding money,what are the currencies",
        ),
        ("Error 504: payment failed", "Error 504: payment failed"),
        ("my card was declined", "my card was declined"),
    ],
)
def test_dropped_spaces_are_restored_and_words_kept(ocr: str, restored: str) -> None:
    assert restore_spaces(ocr) == restored


def test_embedded_text_keeps_confident_lines_only() -> None:
    result = OcrResult(
        lines=[OcrLine("Paymentfailed", 0.97, BOX), OcrLine("~~##", 0.2, BOX)],
        regions=3,
        min_confidence=0.5,
    )
    assert result.text == "Payment failed"
    details = result.details()
    assert details["lines"][0] == {"text": "Paymentfailed", "confidence": 0.97}
    assert len(details["lines"]) == 2 and details["truncated"] is True
