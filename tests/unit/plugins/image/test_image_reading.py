from __future__ import annotations

from fusiondesk.plugins.image.ocr import OcrLine, OcrResult
from fusiondesk.plugins.image.reading import blocks, message_text, strip_field_label


def _line(text: str, top: int, height: int = 20, confidence: float = 0.95) -> OcrLine:
    return OcrLine(text, confidence, (30, top, 30 + 12 * len(text), top + height))


def _result(*lines: OcrLine) -> OcrResult:
    return OcrResult(lines=list(lines), regions=len(lines), min_confidence=0.5)


RECEIPT = _result(
    _line("RECEIPT", 40),
    _line("TOTAL 338.14", 63),
    _line("Note:Whatif I want to addacard I", 115),
    _line("already have to the app?", 138),
)


def test_lines_split_into_blocks_at_wide_gaps() -> None:
    grouped = blocks(RECEIPT.lines)
    assert [[line.text for line in block] for block in grouped] == [
        ["RECEIPT", "TOTAL 338.14"],
        ["Note:Whatif I want to addacard I", "already have to the app?"],
    ]


def test_receipt_chrome_and_label_are_left_out_of_the_message() -> None:
    assert message_text(RECEIPT) == "What if I want to add a card I already have to the app?"
    assert RECEIPT.text.startswith("RECEIPT TOTAL 338.14 Note:")  # the whole read is kept


def test_dialog_title_and_button_are_dropped_but_a_short_message_is_kept() -> None:
    dialog = _result(_line("Error", 32), _line("Card declined", 91), _line("OK", 175))
    assert message_text(dialog) == "Card declined"


def test_every_prose_block_is_kept_in_reading_order() -> None:
    chat = _result(
        _line("Support", 15),
        _line("my card was declined at the shop", 90),
        _line("and now the app shows an error", 160),
    )
    assert message_text(chat) == ("my card was declined at the shop and now the app shows an error")


def test_unconfident_lines_are_not_part_of_the_message() -> None:
    shot = _result(_line("where is my new card", 20), _line("~~##", 42, confidence=0.2))
    assert message_text(shot) == "where is my new card"
    assert message_text(_result()) == ""


def test_only_a_leading_one_word_label_is_stripped() -> None:
    assert strip_field_label("Subject: Help") == "Help"
    assert strip_field_label("Error 504: payment failed") == "Error 504: payment failed"
    assert strip_field_label("Note:") == "Note:"
