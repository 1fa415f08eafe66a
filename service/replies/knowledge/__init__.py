"""The knowledge base: Markdown/FAQ files indexed with the text encoder, answered by LangChain."""

from __future__ import annotations

import logging
from pathlib import Path

from fusiondesk.plugins.text import TextConfig
from fusiondesk.service.replies.domain import Domain, expand_pattern
from fusiondesk.service.replies.knowledge.base import Hit, KnowledgeBase
from fusiondesk.service.replies.knowledge.embeddings import EncoderEmbeddings
from fusiondesk.service.settings import Settings

logger = logging.getLogger(__name__)


def knowledge_files(settings: Settings, domain: Domain) -> list[Path]:
    """The domain's knowledge files and those named in settings (relative to the cwd)."""
    files = set(domain.knowledge_files())
    for pattern in settings.knowledge.paths:
        files.update(expand_pattern(Path.cwd(), str(pattern)))
    return sorted(files)


def open_knowledge_base(settings: Settings, domain: Domain) -> KnowledgeBase | None:
    """The knowledge base the settings and domain describe; None when there is none.

    Slow on first use (embeds every entry); afterwards the index loads from disk.
    """
    files = knowledge_files(settings, domain)
    if not settings.knowledge.enabled or not files:
        return None
    text_config = TextConfig.model_validate(settings.plugins.get("text", {}))
    embeddings = EncoderEmbeddings.shared(text_config.model_path, settings.device)
    llm = None
    if settings.llm is not None:
        from fusiondesk.service.replies.knowledge.llm import build_chat_model

        llm = build_chat_model(settings.llm)
    knowledge, index = KnowledgeBase.open(
        files,
        embeddings,
        settings.knowledge_index_dir,
        top_k=settings.knowledge.top_k,
        score_threshold=settings.knowledge.score_threshold,
        llm=llm,
    )
    logger.info(
        "knowledge base: %d entries from %d files (%s)",
        index.entries,
        len(files),
        "rebuilt" if index.rebuilt else "loaded from disk",
    )
    return knowledge


__all__ = ["EncoderEmbeddings", "Hit", "KnowledgeBase", "knowledge_files", "open_knowledge_base"]
