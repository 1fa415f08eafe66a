"""Entities: values pulled out of a customer's message by the domain's regular expressions.

A domain declares entities as regular expressions; the first capture group that matched (or
the whole match) becomes the entity's value. Reply templates name entities as fields,
``{order_number}``. (A "slot" is something else: a plugin's embedding vector.)
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

from pydantic import BaseModel, field_validator


class Entity(BaseModel):
    pattern: str
    ignore_case: bool = True

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"invalid regular expression {pattern!r}: {error}") from error
        return pattern

    def find(self, text: str) -> str | None:
        match = re.search(self.pattern, text, re.IGNORECASE if self.ignore_case else 0)
        if match is None:
            return None
        # The first group that matched (patterns may offer alternatives), else the match.
        value = next((group for group in match.groups() if group), match.group(0))
        return value.strip() or None


def extract_entities(entities: Mapping[str, Entity], text: str) -> dict[str, str]:
    """Every entity found in ``text``, by name; absent entities are left out."""
    found = {name: entity.find(text) for name, entity in entities.items()}
    return {name: value for name, value in found.items() if value is not None}


def template_fields(template: str) -> set[str]:
    """The entity names a template uses (``"Order {order_number}"`` → ``{"order_number"}``)."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as error:
        raise ValueError(f"malformed template {template!r}: {error}") from error


def fill(template: str, entities: Mapping[str, str]) -> str:
    """The template with its fields filled; every field it names must be in ``entities``."""
    return template.format_map(entities)
