"""Turns a prediction into a reply, from a domain file of templates.

A domain file (YAML) maps intents to reply variations, optional quick-reply buttons and an
optional action (``handoff`` passes the conversation to a person)::

    fallback: ["Sorry, could you rephrase?"]
    handoff: ["I'm handing you over to a member of our team."]
    intents:
      order_status:
        replies: ["You can follow your order from the 'My orders' page."]
        quick_replies: ["Track my order"]
      talk_to_human:
        replies: ["Of course."]
        action: handoff
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from service.errors import DatasetError
from service.fusion import Prediction

DOMAIN_FILE = "domain.yaml"
"""A domain file saved inside a model directory travels with the model."""


class IntentResponse(BaseModel):
    replies: list[str] = Field(min_length=1)
    quick_replies: list[str] = Field(default_factory=list)
    action: Literal["handoff"] | None = None


class Domain(BaseModel):
    version: int = 1
    fallback: list[str] = Field(min_length=1)
    handoff: list[str] = Field(min_length=1)
    intents: dict[str, IntentResponse] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Domain:
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, ValidationError) as error:
            raise DatasetError(f"Cannot read domain file {path}: {error}") from error


@dataclass(frozen=True)
class Reply:
    text: str
    quick_replies: list[str] = field(default_factory=list)
    handoff: bool = False


class TemplateResponder:
    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def respond(self, prediction: Prediction, *, conversation_id: str, turn: int) -> Reply:
        # The variation depends on the conversation and turn, so a reply is reproducible yet
        # a customer asking twice does not read the same sentence twice.
        seed = f"{conversation_id}:{turn}"
        if prediction.out_of_scope:
            return Reply(_pick(self.domain.fallback, seed), ["Talk to a person"])
        response = self.domain.intents.get(prediction.intent)
        if response is None:
            return Reply(_pick(self.domain.fallback, seed))
        if response.action == "handoff":
            return Reply(_pick(self.domain.handoff, seed), handoff=True)
        return Reply(_pick(response.replies, seed), list(response.quick_replies))


def _pick(options: list[str], seed: str) -> str:
    digest = hashlib.blake2b(seed.encode(), digest_size=4).digest()
    return options[int.from_bytes(digest, "big") % len(options)]
