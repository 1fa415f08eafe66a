"""The responder: reply templates, the knowledge base and the handoff policy behind one API.

``Responder.stream`` yields the reply's text in chunks as it is produced (an LLM streams
tokens; templates and extractive answers come as one chunk) and then the complete ``Reply``,
whose text is the chunks joined; ``Responder.respond`` returns just the ``Reply``.

What answers a message:

1. an intent with ``action: handoff`` → its reply, the conversation is flagged for a human
   and the handoff webhook is called;
2. an intent with ``answer_from: knowledge``, an intent the domain lacks, or an out-of-scope
   message → the knowledge base, citing its entry, when an entry scores above the threshold;
   an intent with plain replies too, when the entry is closer to the message than every one
   of the intent's replies (``knowledge_over_templates``: "do you take PayPal?" is read as
   ``payment_failed``, but the payment-methods entry answers it);
3. otherwise the intent's template (filled with the message's entities; ``webhook`` actions
   notify their URL) or, for a message nothing understood, the fallback — unless it is the
   ``handoff_after_failures``-th such message in a row, which hands the conversation off.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fusiondesk.service.conversations.store import Turn
from fusiondesk.service.errors import ConfigurationError
from fusiondesk.service.replies.domain import IntentResponse
from fusiondesk.service.replies.knowledge.base import KnowledgeBase
from fusiondesk.service.replies.templates import Reply, Source, TemplateResponder
from fusiondesk.service.replies.webhooks import WebhookNotifier
from fusiondesk.service.settings import ResponderSettings
from fusiondesk.service.understanding.fusion import Prediction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyRequest:
    """What the responder knows of a message: its prediction, words and recent history."""

    prediction: Prediction
    conversation_id: str
    turn: int = 0
    """How many turns the conversation had before this message (picks the variation)."""
    text: str = ""
    """Everything the customer said in words: typed text, transcripts, OCR text."""
    history: Sequence[Turn] = field(default_factory=list)
    """The last turns, oldest first (``settings.responder.context_turns`` of them)."""
    text_vector: np.ndarray | None = None
    """``text`` already embedded by the knowledge base's encoder, when the router did that."""


@dataclass(frozen=True)
class ReplyChunk:
    text: str


ReplyEvent = ReplyChunk | Reply


class Responder:
    def __init__(
        self,
        templates: TemplateResponder,
        settings: ResponderSettings,
        *,
        knowledge: KnowledgeBase | None = None,
        notifier: WebhookNotifier | None = None,
    ) -> None:
        missing = {
            response.webhook
            for response in templates.domain.intents.values()
            if response.webhook is not None and response.webhook not in settings.webhooks
        }
        if missing:
            raise ConfigurationError(
                f"The domain's webhook actions {sorted(missing)} have no URL in "
                "settings.responder.webhooks (FUSIONDESK_RESPONDER__WEBHOOKS)."
            )
        self.templates = templates
        self.settings = settings
        self.knowledge = knowledge
        self.notifier = notifier or WebhookNotifier(timeout_s=settings.webhook_timeout_s)

    async def respond(self, request: ReplyRequest) -> Reply:
        async for event in self.stream(request):
            if isinstance(event, Reply):
                return event
        raise AssertionError("Responder.stream ended without a reply")

    async def stream(self, request: ReplyRequest) -> AsyncIterator[ReplyEvent]:
        """The reply's text in chunks, then the complete ``Reply``."""
        seed = f"{request.conversation_id}:{request.turn}"
        entities = self.templates.entities(request.text)
        response = self._response_for(request.prediction)
        knowledge = self.knowledge
        wants_knowledge = response is None or response.answer_from == "knowledge"
        may_prefer_knowledge = self._knowledge_may_answer_instead(response)
        if (
            knowledge is not None
            and (wants_knowledge or may_prefer_knowledge)
            and request.text.strip()
        ):
            hits = await knowledge.search(request.text, vector=request.text_vector)
            if hits and not wants_knowledge and response is not None:
                # The better answer wins: the entry, when it is closer to the message than
                # every reply of the intent (an intent's replies answer its usual questions).
                replies_closeness = await knowledge.closeness(
                    request.text, response.replies, vector=request.text_vector
                )
                if hits[0].score <= replies_closeness:
                    hits = []
            if hits:
                chunks = []
                async for chunk in knowledge.answer(request.text, hits):
                    chunks.append(chunk)
                    yield ReplyChunk(chunk)
                yield Reply(
                    "".join(chunks),
                    list(response.quick_replies) if response is not None else [],
                    answered_by="knowledge",
                    sources=[Source(h.title, h.file, h.score) for h in knowledge.cited(hits)],
                    entities=entities,
                )
                return
        reply = self._template_reply(request, response, entities, seed)
        yield ReplyChunk(reply.text)
        yield reply

    async def aclose(self) -> None:
        await self.notifier.aclose()

    def _knowledge_may_answer_instead(self, response: IntentResponse | None) -> bool:
        """An intent answered by plain replies (no handoff, no webhook action) may give way."""
        return (
            self.settings.knowledge_over_templates
            and response is not None
            and bool(response.replies)
            and response.action is None
            and response.webhook is None
        )

    def _response_for(self, prediction: Prediction) -> IntentResponse | None:
        if prediction.out_of_scope:
            return None
        return self.templates.domain.intents.get(prediction.intent)

    def _template_reply(
        self,
        request: ReplyRequest,
        response: IntentResponse | None,
        entities: dict[str, str],
        seed: str,
    ) -> Reply:
        if response is None or not response.replies:
            failures = 1 + consecutive_failures(request.history)
            if failures >= self.settings.handoff_after_failures:
                reply = self.templates.handoff(entities, seed=seed)
                return self._hand_off(request, reply, reason="repeated_failure")
            return self.templates.fallback(entities, seed=seed)
        reply = self.templates.intent_reply(response, entities, seed=seed)
        if response.action == "handoff":
            reply = replace(reply, handoff=True, answered_by="handoff")
            return self._hand_off(request, reply, reason="requested")
        if response.webhook is not None:
            event = _event("action", request, reply, action=response.webhook)
            self.notifier.send(self.settings.webhooks[response.webhook], event)
        return reply

    def _hand_off(self, request: ReplyRequest, reply: Reply, *, reason: str) -> Reply:
        logger.info("conversation handed off (%s)", reason)
        if self.settings.handoff_webhook_url is not None:
            # The runtime moves a conversation whose reply hands off to "waiting".
            event = _event("handoff", request, reply, reason=reason, state="waiting")
            self.notifier.send(self.settings.handoff_webhook_url, event)
        return replace(reply, handoff_reason=reason)


def consecutive_failures(history: Sequence[Turn]) -> int:
    """How many of the latest turns in a row got the fallback (nothing understood them)."""
    count = 0
    for turn in reversed(history):
        if turn.answered_by != "fallback":
            break
        count += 1
    return count


def _event(kind: str, request: ReplyRequest, reply: Reply, **extra: Any) -> dict[str, Any]:
    prediction = request.prediction
    return {
        "event": kind,
        "conversation_id": request.conversation_id,
        "intent": prediction.intent,
        "confidence": prediction.confidence,
        "out_of_scope": prediction.out_of_scope,
        "message": request.text,
        "slots": reply.entities,  # the wire name webhook receivers already read
        "reply": reply.text,
        "history": [
            {"intent": turn.intent, "reply": turn.reply, "answered_by": turn.answered_by}
            for turn in request.history
        ],
        **extra,
    }
