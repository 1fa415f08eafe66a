"""The domain words a model directory records: its training data's own vocabulary.

``fusiondesk train`` writes them beside the model; whoever serves the model hands them to the
plugins that use them (the voice plugin's Whisper hint), so a model trained on another domain
brings its own words. A model directory without the file (trained before it existed) has none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from fusiondesk.plugins import PluginRegistry, UsesDomainWords

DOMAIN_WORDS_FILE = "domain_words.json"

logger = logging.getLogger(__name__)


def save_domain_words(model_dir: Path, words: Sequence[str]) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / DOMAIN_WORDS_FILE).write_text(json.dumps({"words": list(words)}, indent=2) + "\n")


def model_domain_words(model_dir: Path) -> list[str]:
    """The words recorded in ``model_dir``; none when the file is absent or unreadable."""
    path = model_dir / DOMAIN_WORDS_FILE
    try:
        words = json.loads(path.read_text(encoding="utf-8"))["words"]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("ignoring the domain words in %s: %s", path, error)
        return []
    if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
        logger.warning("ignoring the domain words in %s: not a list of words", path)
        return []
    return words


def give_domain_words(registry: PluginRegistry, words: Sequence[str]) -> None:
    """Hand ``words`` to every plugin of ``registry`` that uses them."""
    for plugin in registry:
        if isinstance(plugin, UsesDomainWords):
            plugin.use_domain_words(words)
