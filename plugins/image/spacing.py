"""Puts back the spaces OCR drops between English words.

PP-OCR's recogniser (trained mostly on Chinese, where there are no spaces) often reads
"Iwascontactedbyaseller"; a sentence encoder sees one unknown token there and the meaning is
lost. Runs of letters that are not dictionary words are split into the likeliest sequence of
English words (``wordninja``: English Wikipedia unigram frequencies, shipped in the wheel).
"""

from __future__ import annotations

import re

import wordninja

LETTER_RUN = re.compile(r"[A-Za-z]+")
MIN_AVERAGE_PIECE = 2.5
"""A split into shorter pieces on average is shrapnel of a name ("Klarna"), not words."""


def _split_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if len(run) <= 3 or run.lower() in wordninja.DEFAULT_LANGUAGE_MODEL._wordcost:
        return run
    pieces: list[str] = wordninja.split(run)
    if len(run) / len(pieces) < MIN_AVERAGE_PIECE:
        return run
    return " ".join(pieces)


def restore_spaces(text: str) -> str:
    """``"Note:Ifound acharge"`` -> ``"Note:I found a charge"``; known words are left alone."""
    return LETTER_RUN.sub(_split_run, text)
