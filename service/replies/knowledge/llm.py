"""The optional chat model, built from settings through LangChain's ``init_chat_model``."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from fusiondesk.service.errors import ConfigurationError
from fusiondesk.service.settings import LLMSettings


def build_chat_model(settings: LLMSettings) -> BaseChatModel:
    """Any LangChain chat model: the provider's integration package must be installed."""
    from langchain.chat_models import init_chat_model

    arguments: dict[str, Any] = {"temperature": settings.temperature, **settings.options}
    if settings.base_url is not None:
        arguments["base_url"] = settings.base_url
    if settings.api_key is not None:
        arguments["api_key"] = settings.api_key.get_secret_value()
    try:
        model = init_chat_model(settings.model, model_provider=settings.provider, **arguments)
    except (ImportError, ValueError) as error:
        raise ConfigurationError(
            f"Cannot use the chat model {settings.provider}:{settings.model}: {error}"
        ) from error
    if not isinstance(model, BaseChatModel):  # a configurable wrapper: needs a fixed model
        raise ConfigurationError(f"{settings.provider}:{settings.model} is not a chat model.")
    return model
