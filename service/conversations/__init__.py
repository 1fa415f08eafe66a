"""Conversation history: turns and owners, in this process or shared through Redis."""

from __future__ import annotations

from fusiondesk.service.conversations.store import ConversationStore, InMemoryConversationStore
from fusiondesk.service.settings import Settings


def build_store(settings: Settings) -> ConversationStore:
    """The store ``settings.store`` names; Redis is imported only when chosen."""
    options = settings.conversations
    if settings.store == "redis":
        from fusiondesk.service.conversations.redis_client import connect_redis
        from fusiondesk.service.conversations.redis_store import RedisConversationStore

        return RedisConversationStore(
            connect_redis(settings.redis_url, timeout_s=settings.redis_timeout_s),
            max_turns=options.max_turns,
            ttl_seconds=options.ttl_seconds,
            lock_timeout_seconds=options.lock_timeout_seconds,
        )
    return InMemoryConversationStore(
        max_turns=options.max_turns, lock_timeout_seconds=options.lock_timeout_seconds
    )
