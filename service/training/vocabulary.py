"""A domain's own words, from its training texts: the hint the voice plugin gives Whisper.

Whisper tiny.en hears espeak-ng's "transfer" as "trends for" and "PIN" as "BIN"; told which
words a deployment's customers use (``hotwords``), it picks them more often. The words are the
training texts' most frequent ones minus common English stop words, so they come from the
domain's data, never from what is being transcribed.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from fusiondesk.service.training.data import Dataset

DEFAULT_SIZE = 80
"""About 165 Whisper tokens for BANKING77: well inside the prompt budget beside 224 new
tokens; 40 words helped tiny.en less on bench/voice_accuracy.py."""
MIN_COUNT = 2
"""A word seen once is as likely a typo as domain vocabulary."""
_WORD = re.compile(r"[^\W\d_][\w'-]*")


def domain_vocabulary(texts: Iterable[str], *, size: int = DEFAULT_SIZE) -> list[str]:
    """The ``size`` most frequent content words of ``texts``, most frequent first.

    Each word keeps its most common spelling ("PIN", "ATM", "Visa"), which Whisper copies.
    Contractions and stop words are left out: Whisper already expects them.
    """
    counts: Counter[str] = Counter()
    spellings: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        for word in _WORD.findall(text):
            key = word.lower().strip("-'")
            if key in ENGLISH_STOP_WORDS or "'" in key or len(key) < 2:
                continue
            counts[key] += 1
            spellings[key][word.strip("-'")] += 1
    frequent = [key for key, count in counts.most_common() if count >= MIN_COUNT]
    return [spellings[key].most_common(1)[0][0] for key in frequent[:size]]


def dataset_vocabulary(dataset: Dataset, *, size: int = DEFAULT_SIZE) -> list[str]:
    """The domain words of a data set's text (rows without text have none)."""
    return domain_vocabulary(
        (example.inputs.get("text", "") for example in dataset.examples), size=size
    )


def hotwords(words: Iterable[str]) -> str:
    """The voice plugin's ``hotwords`` setting for ``words``."""
    return ", ".join(words)
