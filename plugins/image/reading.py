"""Picks what a customer's picture is about out of everything OCR read on it.

A screenshot carries the customer's words inside on-screen chrome: a window title ("Support",
"Error"), buttons ("OK"), an e-mail's "Subject:" header, a receipt's "TOTAL 12.50". Embedded
together, the chrome drags the sentence vector toward the wrong intents (a receipt's total
pulls every message toward "charged"). Layout tells them apart: the words sit in a paragraph of
tightly spaced lines, the chrome in small blocks separated by wider gaps. So lines are grouped
into blocks by vertical gap, and the text embedded is the block with the most words plus every
other block long enough to be prose, each without a leading one-word field label ("Note:").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fusiondesk.plugins.image.ocr import OcrLine, OcrResult
from fusiondesk.plugins.image.spacing import restore_spaces

BLOCK_GAP = 0.5
"""Lines further apart than this share of the shorter one's height start a new block (a
paragraph's lines nearly touch; a title, a button or a totals row sits a line or more away)."""
PROSE_WORDS = 3
"""A block with fewer words than this (titles, buttons, "TOTAL 12.50") is chrome, unless it is
the wordiest block of the picture."""
WORD = re.compile(r"[A-Za-z]{2,}")
FIELD_LABEL = re.compile(r"^[A-Za-z]+:\s*")


def message_text(result: OcrResult) -> str:
    """The text to embed for a picture: its message blocks, spaces restored, labels dropped."""
    return " ".join(strip_field_label(text) for text in message_blocks(result.confident_lines))


def message_blocks(lines: Sequence[OcrLine]) -> list[str]:
    """The text of the blocks that carry the message: the wordiest and every other prose one."""
    texts = [restore_spaces(" ".join(line.text for line in block)) for block in blocks(lines)]
    if not texts:
        return []
    words = [len(WORD.findall(text)) for text in texts]
    main = words.index(max(words))  # the first of equals: reading order breaks ties
    return [text for i, text in enumerate(texts) if i == main or words[i] >= PROSE_WORDS]


def blocks(lines: Sequence[OcrLine]) -> list[list[OcrLine]]:
    """Lines (in reading order) grouped into blocks of vertically adjacent lines."""
    grouped: list[list[OcrLine]] = []
    for line in lines:
        if grouped and _gap(grouped[-1][-1], line) <= BLOCK_GAP * _height(grouped[-1][-1], line):
            grouped[-1].append(line)
        else:
            grouped.append([line])
    return grouped


def strip_field_label(text: str) -> str:
    """``"Note: my card is lost"`` -> ``"my card is lost"``; a label alone is kept."""
    return FIELD_LABEL.sub("", text, count=1) or text


def _gap(above: OcrLine, below: OcrLine) -> int:
    return below.box[1] - above.box[3]


def _height(above: OcrLine, below: OcrLine) -> int:
    return min(above.box[3] - above.box[1], below.box[3] - below.box[1])
