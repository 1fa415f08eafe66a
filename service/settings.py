"""The one settings object. Every field reads from ``FUSIONDESK_<FIELD>`` or a ``.env`` file.

Nested values use ``__``: ``FUSIONDESK_LIMITS__MAX_PARTS=4``,
``FUSIONDESK_PLUGINS__TEXT__MAX_CHARS=2000`` (per-plugin settings, checked by each plugin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseModel):
    """What one request may carry; checked before any model work."""

    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_parts: int = Field(default=8, ge=1)
    max_conversation_id_chars: int = Field(default=128, ge=8)


class Batching(BaseModel):
    """Overrides of a plugin's declared dynamic-batching metadata (None keeps the plugin's)."""

    max_batch_size: int | None = Field(default=None, ge=1)
    max_wait_ms: float | None = Field(default=None, ge=0.0)


class CelerySettings(BaseModel):
    """The Celery executor and its workers (``FUSIONDESK_CELERY__<KEY>``)."""

    broker_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis broker.")
    result_backend: str | None = Field(
        default=None, description="Redis result backend; default: the broker URL."
    )
    result_timeout_s: float = Field(
        default=900.0, gt=0, description="Longest the API waits for one part's encoding."
    )
    visibility_timeout_s: float = Field(
        default=3600.0,
        gt=0,
        description="Unacknowledged messages return to the queue after this long; must exceed "
        "the longest encode (long audio) plus queueing, or work is done twice.",
    )
    resubmit_after_s: float = Field(
        default=1800.0,
        gt=0,
        description="A part without a result after this long is published again under the same "
        "id (tasks are idempotent): covers a message lost with its worker between Redis handing "
        "it out and recording it as unacknowledged.",
    )
    max_retries: int = Field(default=3, ge=0, description="Tries after the first, then dead.")
    retry_backoff_s: float = Field(default=1.0, ge=0, description="First retry delay; doubles.")
    concurrency: int = Field(
        default=64, ge=1, description="Worker threads: requests one worker holds for batching."
    )
    poll_interval_ms: float = Field(
        default=2.0, gt=0, description="How often the API checks Redis for finished results."
    )
    heartbeat_s: float = Field(default=2.0, gt=0, description="Worker statistics refresh.")
    batching: dict[str, Batching] = Field(
        default_factory=dict, description="Per-plugin batching overrides, keyed by plugin name."
    )

    @property
    def resolved_result_backend(self) -> str:
        return self.result_backend or self.broker_url


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
    executor: Literal["inline", "celery"] = Field(
        default="inline",
        description="Where plugin encoders run: in this process, or on Celery workers.",
    )
    celery: CelerySettings = Field(default_factory=CelerySettings)
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

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.home / "models" / "demo"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"
