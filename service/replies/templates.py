"""Reply templates: the domain's variations rendered with the message's entities.

A variation names entities as ``{order_number}``; the variations whose fields the message
filled win, the seed picks among them, and the fallback and handoff groups (which the domain
guarantees a variation without fields) always render.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from fusiondesk.service.errors import DatasetError
from fusiondesk.service.replies.entities import extract_entities, fill, template_fields

if TYPE_CHECKING:
    # Types only: ``domain`` re-exports this module's names for older import paths.
    from fusiondesk.service.replies.domain import Domain, IntentResponse

AnsweredBy = Literal["template", "knowledge", "fallback", "handoff", "held"]
"""``held``: a person has the conversation; the bot only stores the message (or acknowledges it)."""


@dataclass(frozen=True)
class Source:
    """A knowledge-base entry a reply was drawn from."""

    title: str
    file: str
    score: float


@dataclass(frozen=True)
class Reply:
    text: str
    quick_replies: list[str] = field(default_factory=list)
    handoff: bool = False
    answered_by: AnsweredBy = "template"
    sources: list[Source] = field(default_factory=list)
    entities: dict[str, str] = field(default_factory=dict)
    """The entities found in the message (webhook events carry them as ``slots``)."""
    handoff_reason: str | None = None
    """Why the reply hands the conversation over: ``requested`` or ``repeated_failure``."""


class TemplateResponder:
    """Renders the domain's templates; the knowledge base and handoff policy live above it."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def entities(self, text: str) -> dict[str, str]:
        return extract_entities(self.domain.entities, text)

    def intent_reply(
        self, response: IntentResponse, entities: dict[str, str], *, seed: str
    ) -> Reply:
        text = render(response.replies, entities, seed=seed)
        if text is None:
            text = _render_always(response.entity_missing, entities, seed)
        return Reply(text, list(response.quick_replies), entities=entities)

    def fallback(self, entities: dict[str, str], *, seed: str) -> Reply:
        text = _render_always(self.domain.fallback, entities, seed)
        return Reply(text, ["Talk to a person"], answered_by="fallback", entities=entities)

    def handoff(self, entities: dict[str, str], *, seed: str) -> Reply:
        text = _render_always(self.domain.handoff, entities, seed)
        return Reply(text, handoff=True, answered_by="handoff", entities=entities)


def render(templates: list[str], entities: dict[str, str], *, seed: str) -> str | None:
    """One variation, filled; None when every variation needs an entity the message lacks.

    Variations that use the most of the found entities win, so a customer who gave an order
    number reads it back; the seed (conversation and turn) picks among them, so a reply is
    reproducible yet a customer asking twice does not read the same sentence twice.
    """
    usable = [t for t in templates if template_fields(t) <= entities.keys()]
    if not usable:
        return None
    most = max(len(template_fields(t)) for t in usable)
    best = [t for t in usable if len(template_fields(t)) == most]
    return fill(_pick(best, seed), entities)


def _render_always(templates: list[str], entities: dict[str, str], seed: str) -> str:
    """For groups the domain guarantees a variation without fields (validated at load)."""
    text = render(templates, entities, seed=seed)
    if text is None:
        raise DatasetError(f"No variation of {templates!r} can be filled.")
    return text


def _pick(options: list[str], seed: str) -> str:
    digest = hashlib.blake2b(seed.encode(), digest_size=4).digest()
    return options[int.from_bytes(digest, "big") % len(options)]
