"""The domain file: intents' replies, entities, actions and knowledge, validated at load.

A domain file (YAML) maps intents to reply variations, quick-reply buttons and actions.
Version 1 files (replies, quick_replies, ``action: handoff``) load unchanged; version 2 adds
regex entities whose values fill ``{fields}`` in templates, a phrasing for when an entity is
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
        entity_missing: ["Could you send me your order number?"]
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

``entity_missing`` was once called ``slot_missing``; that key still loads, so domain files
saved inside older model directories keep working. Rendering lives in ``templates``.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePath
from typing import Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from fusiondesk.service.errors import DatasetError
from fusiondesk.service.replies.entities import Entity, template_fields

DOMAIN_FILE = "domain.yaml"
"""A domain file saved inside a model directory travels with the model."""


class IntentResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replies: list[str] = Field(default_factory=list)
    entity_missing: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices("entity_missing", "slot_missing"),
        description="Used when no reply variation has all its entities.",
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
            groups[f"{name}.entity_missing"] = response.entity_missing
        for where, templates in groups.items():
            for template in templates:
                unknown = template_fields(template) - set(self.entities)
                if unknown:
                    raise ValueError(f"{where}: {template!r} uses undeclared entities {unknown}")
        for where in ("fallback", "handoff"):
            _require_variation_without_fields(where, groups[where])
        for name, response in self.intents.items():
            if response.entity_missing:
                where = f"{name}.entity_missing"
                _require_variation_without_fields(where, response.entity_missing)
            elif response.replies and all(template_fields(t) for t in response.replies):
                raise ValueError(f"{name}: every reply needs an entity; add `entity_missing`")
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


def _require_variation_without_fields(where: str, templates: list[str]) -> None:
    """Groups used when the message may carry no entity must always render."""
    if all(template_fields(template) for template in templates):
        raise ValueError(f"{where}: needs at least one variation that uses no entity")
