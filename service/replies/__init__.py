"""Replies: from an understood message to the bot's answer.

- ``responder`` — the ``Responder``, the policy: which of templates, the knowledge base or a
  handoff answers a ``ReplyRequest``, and the webhooks it calls on the way;
- ``domain`` — the domain file (``DOMAIN_FILE`` inside a model directory): intents' replies,
  entities, actions and knowledge paths, validated at load; ``copy_domain`` saves it with a model;
- ``templates`` — reply templates: the ``TemplateResponder`` renders a ``Reply`` from them;
- ``entities`` — the domain's regex entities (an order number) and the ``{fields}`` they fill;
- ``webhooks`` — fire-and-forget POSTs for handoffs and ``webhook`` actions;
- ``knowledge/`` — the knowledge base: Markdown/FAQ files, their index, the LLM that answers.

The names below load on first use (PEP 562): the responder imports the fusion model (torch),
and reading a domain file should not.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fusiondesk.service.replies.domain import DOMAIN_FILE, Domain, IntentResponse, copy_domain
    from fusiondesk.service.replies.knowledge import open_knowledge_base
    from fusiondesk.service.replies.responder import ReplyChunk, ReplyRequest, Responder
    from fusiondesk.service.replies.templates import Reply, Source, TemplateResponder

_HOMES = {
    "DOMAIN_FILE": "domain",
    "Domain": "domain",
    "IntentResponse": "domain",
    "copy_domain": "domain",
    "open_knowledge_base": "knowledge",
    "ReplyChunk": "responder",
    "ReplyRequest": "responder",
    "Responder": "responder",
    "Reply": "templates",
    "Source": "templates",
    "TemplateResponder": "templates",
}

__all__ = [
    "DOMAIN_FILE",
    "Domain",
    "IntentResponse",
    "Reply",
    "ReplyChunk",
    "ReplyRequest",
    "Responder",
    "Source",
    "TemplateResponder",
    "copy_domain",
    "open_knowledge_base",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
