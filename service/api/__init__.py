"""The HTTP API (an adapter: nothing in the core imports it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fusiondesk.service.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Loaded on use, so importing a module of this package (the rate limiter, say) does not
    # build the whole application and its routes.
    if name == "create_app":
        from fusiondesk.service.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
