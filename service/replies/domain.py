"""The domain file and its reply templates.

A domain file (YAML) maps intents to reply variations, quick-reply buttons and actions.
Version 1 files (replies, quick_replies, ``action: handoff``) load unchanged; version 2 adds
regex entities whose values fill ``{slots}`` in templates, a phrasing for when a slot is
missing, ``webhook`` actions, and a knowledge base of Markdown/FAQ files::

    version: 2
    entities:
      order_number: {pattern: '#\\s?(\\d{5,8})'}
    fallback: ["Sorry, could you rephrase?"]
    handoff: ["I'm handing you over to a member of our team."]
    knowledge:
      paths: ["knowledge/*.md"]          # relative to the domain file
    intents:
      order_status:
        replies: ["Order #{order_number} is on its way.", "Your order is on its way."]
        slot_missing: ["Could you send me your order number?"]
        quick_replies: ["Track my order"]
      order_lookup:
        replies: ["Let me look that up."]
        action: webhook
        webhook: order_lookup              # a URL named in settings.responder.webhooks
      shipping_question:
        answer_from: knowledge             # answered from the knowledge base when it can
      talk_to_human:
        replies: ["Of course."]
        action: handoff
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from fusiondesk.service.errors import DatasetError
from fusiondesk.service.replies.entities import Entity, extract_slots, fill, template_slots

DOMAIN_FILE = "domain.yaml"
"""A domain file saved inside a model directory travels with the model."""

AnsweredBy = Literal["template", "knowledge", "fallback", "handoff"]


class IntentResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replies: list[str] = Field(default_factory=list)
    slot_missing: list[str] = Field(
        default_factory=list, description="Used when no reply variation has all its slots."
    )
    quick_replies: list[str] = Field(default_factory=list)
    action: Literal["handoff", "webhook"] | None = None
    webhook: str | None = Field(default=None, description="Name of a URL in settings.")
    answer_from: Literal["templates", "knowledge"] = "templates"

    @model_validator(mode="after")
    def _consistent(self) -> IntentResponse:
        if not self.replies and self.answer_from != "knowledge":
            raise ValueError("needs at least one reply (or `answer_from: knowledge`)")
        if (self.action == "webhook") != (self.webhook is not None):
            raise ValueError("`action: webhook` and `webhook: NAME` go together")
        return self


class KnowledgeSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(
        default_factory=list, description="Markdown/FAQ files or globs, relative to the domain."
    )

    @model_validator(mode="after")
    def _inside_domain(self) -> KnowledgeSection:
        # Relative paths stay under the domain's folder so that they can travel with it.
        for pattern in self.paths:
            if not PurePath(pattern).is_absolute() and ".." in PurePath(pattern).parts:
                raise ValueError(f"knowledge path {pattern!r} leaves the domain's folder")
        return self


class Domain(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1, 2] = 1
    entities: dict[str, Entity] = Field(default_factory=dict)
    fallback: list[str] = Field(min_length=1)
    handoff: list[str] = Field(min_length=1)
    knowledge: KnowledgeSection = Field(default_factory=KnowledgeSection)
    intents: dict[str, IntentResponse] = Field(default_factory=dict)
    _directory: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def _templates_fillable(self) -> Domain:
        groups = {"fallback": self.fallback, "handoff": self.handoff}
        for name, response in self.intents.items():
            groups[f"{name}.replies"] = response.replies
            groups[f"{name}.slot_missing"] = response.slot_missing
        for where, templates in groups.items():
            for template in templates:
                unknown = template_slots(template) - set(self.entities)
                if unknown:
                    raise ValueError(f"{where}: {template!r} uses undeclared slots {unknown}")
        for where in ("fallback", "handoff"):
            _require_slot_free(where, groups[where])
        for name, response in self.intents.items():
            if response.slot_missing:
                _require_slot_free(f"{name}.slot_missing", response.slot_missing)
            elif response.replies and all(template_slots(t) for t in response.replies):
                raise ValueError(f"{name}: every reply needs a slot; add `slot_missing`")
        return self

    @classmethod
    def load(cls, path: Path) -> Domain:
        try:
            domain = cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, ValidationError) as error:
            raise DatasetError(f"Cannot read domain file {path}: {error}") from error
        domain._directory = path.resolve().parent
        return domain

    def knowledge_files(self) -> list[Path]:
        """The knowledge section's files, resolved against the domain file's folder."""
        files: set[Path] = set()
        for pattern in self.knowledge.paths:
            files.update(expand_pattern(self._directory, pattern))
        return sorted(files)


def expand_pattern(base: Path, pattern: str) -> list[Path]:
    """Files matching a path or glob; relative ones are taken from ``base``."""
    path = Path(pattern).expanduser()
    if path.is_absolute():
        anchor, relative = Path(path.anchor), str(path.relative_to(path.anchor))
    else:
        anchor, relative = base, pattern
    return sorted(match.resolve() for match in anchor.glob(relative) if match.is_file())


def copy_domain(source: Path, model_dir: Path) -> None:
    """Save a domain file, and the knowledge files it names, beside a model."""
    domain = Domain.load(source)
    shutil.copyfile(source, model_dir / DOMAIN_FILE)
    base = source.resolve().parent
    for file in domain.knowledge_files():
        if file.is_relative_to(base):
            target = model_dir / file.relative_to(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)


def _require_slot_free(where: str, templates: list[str]) -> None:
    if not any(not template_slots(template) for template in templates):
        raise ValueError(f"{where}: needs at least one variation without slots")


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
    slots: dict[str, str] = field(default_factory=dict)


class TemplateResponder:
    """Renders the domain's templates; the knowledge base and handoff policy live above it."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain

    def slots(self, text: str) -> dict[str, str]:
        return extract_slots(self.domain.entities, text)

    def intent_reply(self, response: IntentResponse, slots: dict[str, str], *, seed: str) -> Reply:
        text = render(response.replies, slots, seed=seed)
        if text is None:
            text = _render_slot_free(response.slot_missing, slots, seed)
        return Reply(text, list(response.quick_replies), slots=slots)

    def fallback(self, slots: dict[str, str], *, seed: str) -> Reply:
        text = _render_slot_free(self.domain.fallback, slots, seed)
        return Reply(text, ["Talk to a person"], answered_by="fallback", slots=slots)

    def handoff(self, slots: dict[str, str], *, seed: str) -> Reply:
        text = _render_slot_free(self.domain.handoff, slots, seed)
        return Reply(text, handoff=True, answered_by="handoff", slots=slots)


def render(templates: list[str], slots: dict[str, str], *, seed: str) -> str | None:
    """One variation, filled; None when every variation needs a slot the message lacks.

    Variations that use the most of the known slots win, so a customer who gave an order
    number reads it back; the seed (conversation and turn) picks among them, so a reply is
    reproducible yet a customer asking twice does not read the same sentence twice.
    """
    usable = [t for t in templates if template_slots(t) <= slots.keys()]
    if not usable:
        return None
    most = max(len(template_slots(t)) for t in usable)
    best = [t for t in usable if len(template_slots(t)) == most]
    return fill(_pick(best, seed), slots)


def _render_slot_free(templates: list[str], slots: dict[str, str], seed: str) -> str:
    """For groups the domain guarantees a slot-free variation (validated at load)."""
    text = render(templates, slots, seed=seed)
    if text is None:
        raise DatasetError(f"No variation of {templates!r} can be filled.")
    return text


def _pick(options: list[str], seed: str) -> str:
    digest = hashlib.blake2b(seed.encode(), digest_size=4).digest()
    return options[int.from_bytes(digest, "big") % len(options)]
