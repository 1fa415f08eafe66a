"""The one settings object. Every field reads from ``FUSIONDESK_<FIELD>`` or a ``.env`` file.

Nested values use ``__``: ``FUSIONDESK_LIMITS__MAX_PARTS=4``,
``FUSIONDESK_PLUGINS__TEXT__MAX_CHARS=2000`` (per-plugin settings, checked by each plugin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseModel):
    """What one request may carry; checked before any model work."""

    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_parts: int = Field(default=8, ge=1)
    max_conversation_id_chars: int = Field(default=128, ge=8)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FUSIONDESK_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    home: Path = Field(
        default_factory=lambda: Path.home() / ".fusiondesk",
        description="Where models, caches and other state live by default.",
    )
    model_dir: Path | None = Field(
        default=None, description="The trained intent model to serve; default HOME/models/demo."
    )
    domain_path: Path | None = Field(
        default=None,
        description="Domain file (intent replies); default: the model's, else the bundled demo.",
    )
    executor: Literal["inline"] = "inline"
    device: str = Field(default="cpu", description="Torch device for plugin models.")
    plugins: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-plugin settings, keyed by plugin name."
    )
    disabled_plugins: list[str] = Field(default_factory=list)
    disable_plugin_autoload: bool = Field(
        default=False, description="Load only fusiondesk's own plugins, no third-party ones."
    )
    confidence_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Override the model's calibrated out-of-scope threshold.",
    )
    limits: Limits = Field(default_factory=Limits)
    admin_api_key: SecretStr | None = Field(
        default=None,
        description="Key for /v1/admin endpoints (Authorization: Bearer KEY); unset disables them.",
    )
    model_watch_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Poll the served model's config.json this often and reload when it changes.",
    )

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.home / "models" / "demo"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"
