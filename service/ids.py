"""Conversation and message ids: what a valid one looks like, and how the service makes one.

Clients may choose both ids (letters, digits and ``_ . : -``), so an id travels unchanged from a
widget to the history, the logs and a webhook. ``MAX_ID_CHARS`` is the hard bound the API
documents; ``Limits.max_conversation_id_chars`` may set a lower one for conversation ids.
"""

from __future__ import annotations

import re
import uuid

ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
MAX_ID_CHARS = 128

_ID = re.compile(ID_PATTERN)


def is_valid_id(value: object, *, max_chars: int = MAX_ID_CHARS) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_chars and bool(_ID.match(value))


def new_message_id() -> str:
    """The id of a message whose sender gave none."""
    return uuid.uuid4().hex
