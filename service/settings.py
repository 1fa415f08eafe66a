"""The one settings object. Every field reads from ``FUSIONDESK_<FIELD>`` or a ``.env`` file.

Nested values use ``__``: ``FUSIONDESK_LIMITS__MAX_PARTS=4``,
``FUSIONDESK_PLUGINS__TEXT__MAX_CHARS=2000`` (per-plugin settings, checked by each plugin).
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fusiondesk.service.ids import MAX_ID_CHARS


class Limits(BaseModel):
    """What one request may carry; checked before any model work."""

    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_parts: int = Field(default=8, ge=1)
    max_conversation_id_chars: int = Field(default=MAX_ID_CHARS, ge=8, le=MAX_ID_CHARS)


class KnowledgeSettings(BaseModel):
    """The knowledge base: FAQ/Markdown files answering what the reply templates don't."""

    enabled: bool = True
    paths: list[Path] = Field(
        default_factory=list,
        description="More knowledge files or globs, besides the domain's `knowledge` section.",
    )
    index_dir: Path | None = Field(
        default=None, description="Where the vector index is kept; default HOME/knowledge."
    )
    top_k: int = Field(default=3, ge=1, le=20, description="Entries retrieved per question.")
    score_threshold: float = Field(
        default=0.3,
        ge=-1.0,
        le=1.0,
        description="Least cosine similarity for an entry to answer; below it, the fallback.",
    )


class LLMSettings(BaseModel):
    """An optional chat model that phrases knowledge answers (LangChain ``init_chat_model``).

    Without one, answers are the cited entry's own text. The provider's LangChain package
    must be installed (``langchain-openai`` for ``openai``, ``langchain-ollama`` for ``ollama``).
    """

    model: str = Field(description="Model name, e.g. `gpt-4o-mini` or `llama3.2`.")
    provider: str = Field(default="openai", description="`openai` (or compatible), `ollama`...")
    base_url: str | None = Field(default=None, description="Endpoint, e.g. a local server.")
    api_key: SecretStr | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    options: dict[str, Any] = Field(
        default_factory=dict,
        description='More arguments for the chat model class, e.g. `{"timeout": 30}`.',
    )


class ResponderSettings(BaseModel):
    """Conversation context, handoff policy and webhooks of the responder."""

    context_turns: int = Field(
        default=6, ge=0, description="How many recent turns the responder sees."
    )
    handoff_after_failures: int = Field(
        default=2, ge=1, description="Consecutive not-understood turns before a handoff."
    )
    handoff_webhook_url: str | None = Field(
        default=None, description="POSTed a JSON event when a conversation is handed off."
    )
    webhooks: dict[str, str] = Field(
        default_factory=dict, description="URLs of the domain's `webhook` actions, by name."
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    knowledge_over_templates: bool = Field(
        default=True,
        description="Answer an understood intent from the knowledge base when its best entry "
        "matches the message better than any of the intent's replies does.",
    )


class BusinessHours(BaseModel):
    """When people answer handed-off conversations; outside them the customer is told so."""

    days: list[int] = Field(
        default=[0, 1, 2, 3, 4], description="Open weekdays, Monday = 0 ... Sunday = 6."
    )
    opens: time = Field(default=time(9, 0), description="Opening time, HH:MM.")
    closes: time = Field(default=time(17, 0), description="Closing time, HH:MM.")
    timezone: str = Field(default="UTC", description="IANA time zone of the hours.")


class HandoffSettings(BaseModel):
    """Human handoff: acknowledgement, business hours, reminders and auto-resolve."""

    acknowledgement: str | None = Field(
        default="Thanks, a colleague has your message and will reply here shortly.",
        description="Sent once to a customer who writes while waiting for an agent; none: silent.",
    )
    business_hours: BusinessHours | None = Field(
        default=None, description="None: people answer at any hour."
    )
    out_of_hours_reply: str = Field(
        default="Our team is away right now; a colleague will answer here when we open.",
        description="Replaces the handoff reply outside business hours (still handed off).",
    )
    reminder_after_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A conversation waiting this long without an agent sends a `handoff_reminder` "
        "event to the handoff webhook (once).",
    )
    auto_resolve_after_seconds: float = Field(
        default=4 * 3600.0,
        gt=0,
        description="A handed-off conversation inactive this long is resolved.",
    )
    sweep_seconds: float = Field(
        default=5.0, gt=0, description="How often reminders and auto-resolve are checked."
    )


class ApiKey(BaseModel):
    """One API key, stored as the sha256 of the key (``fusiondesk keys new`` prints both)."""

    name: str = Field(min_length=1, max_length=64, description="Shown in logs and metrics.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex sha256 of the key.")
    scopes: list[Literal["chat", "admin", "agent"]] = Field(default=["chat"], min_length=1)
    public: bool = Field(
        default=False,
        description="A widget key shipped to browsers: chat only, on conversations it created.",
    )


class Auth(BaseModel):
    """Who may call the API. Off by default (embedded/dev): no key needed."""

    required: bool = False
    api_keys: list[ApiKey] = Field(default_factory=list)
    failures_before_backoff: int = Field(
        default=5,
        ge=1,
        description="Failed authentications an IP may make before it must wait; each further "
        "one doubles the wait (1 s, 2 s, 4 s ...), answered 429 with Retry-After.",
    )
    max_backoff_s: float = Field(
        default=300.0, gt=0, description="Longest wait after failed authentications."
    )


class RateLimits(BaseModel):
    """Requests (and WebSocket messages) per minute; 0 turns a limit off."""

    per_key_per_minute: int = Field(default=600, ge=0)
    per_ip_per_minute: int = Field(default=300, ge=0)


class ConversationSettings(BaseModel):
    """How long and how much conversation history is kept."""

    max_turns: int = Field(default=200, ge=1, description="Turns kept per conversation.")
    ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, description="Redis history TTL.")
    lock_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Longest wait for a conversation's lock, and its lease: renewed while its "
        "holder lives, so a dead process keeps a conversation at most this long.",
    )


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
        default=60.0,
        gt=0,
        description="A part without a result after this long is published again under the same "
        "id (tasks are idempotent, and a worker skips one whose result is stored): covers a "
        "message lost with its worker between Redis handing it out and recording it.",
    )
    max_retries: int = Field(default=3, ge=0, description="Tries after the first, then dead.")
    retry_backoff_s: float = Field(default=1.0, ge=0, description="First retry delay; doubles.")
    concurrency: int = Field(
        default=64, ge=1, description="Worker threads: requests one worker holds for batching."
    )
    poll_interval_ms: float = Field(
        default=50.0,
        gt=0,
        description="How often the API polls Redis for results whose notification it missed.",
    )
    group_max_parts: int = Field(
        default=32,
        ge=1,
        description="Parts that arrive together share one task, up to this many (1: a task per "
        "part). Fewer tasks, less queue work per part; the worker's batcher still decides what "
        "is encoded together.",
    )
    group_max_bytes: int = Field(
        default=4_000_000, ge=1, description="Payload bytes per shared task, roughly."
    )
    heartbeat_s: float = Field(
        default=2.0,
        gt=0,
        description="Worker liveness and statistics refresh. A worker silent for three beats (at "
        "least 6 s) is dead: its in-flight messages go back to the queue a beat later.",
    )
    batching: dict[str, Batching] = Field(
        default_factory=dict, description="Per-plugin batching overrides, keyed by plugin name."
    )
    no_worker_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="A message already waiting gives up (503 no_workers) after this long without "
        "a live worker for its queue; a new message is refused at once.",
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
    demo_attachments_per_intent: int | None = Field(
        default=None,
        ge=0,
        description="Messages with a voice note and a screenshot per intent that the demo model "
        "trains on (None: 0, its texts alone; 4 was measured best on attachments, see "
        "docs/training.md for why it is not the default yet).",
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
    int8_intent_head: bool = Field(
        default=True,
        description="Serve the intent model's fusion head with int8 weights (ONNX Runtime "
        "dynamic quantisation): about half its time per message; probabilities within ~0.04 of "
        "the float ones (top-1 changed on 2 of 3,080 BANKING77 test rows). False: float32.",
    )
    limits: Limits = Field(default_factory=Limits)
    responder: ResponderSettings = Field(default_factory=ResponderSettings)
    knowledge: KnowledgeSettings = Field(default_factory=KnowledgeSettings)
    llm: LLMSettings | None = Field(
        default=None, description="Chat model for knowledge answers; none: extractive answers."
    )
    store: Literal["memory", "redis"] = Field(
        default="memory", description="Conversation history and rate limits: here or in Redis."
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Used when store is 'redis'."
    )
    auth: Auth = Field(default_factory=Auth)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    conversations: ConversationSettings = Field(default_factory=ConversationSettings)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (JSON list); '*' allows any.",
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="Log lines as JSON objects (with request ids) or plain text."
    )
    model_watch_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Poll the served model's config.json this often and reload when it changes.",
    )
    redis_timeout_s: float = Field(
        default=2.0,
        gt=0,
        description="Longest wait for one Redis command of a request (store, locks, rate "
        "limits); past it, and one retry, the request gets 503 store_unavailable.",
    )
    shutdown_grace_s: float = Field(
        default=25.0,
        ge=0,
        description="On SIGTERM, how long in-flight messages may finish before the process "
        "exits (fits a 30 s Kubernetes grace): the API answers the rest 503 shutting_down, a "
        "worker returns what it still holds to the queue.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the API answers to (JSON list), besides localhost, 127.0.0.1, "
        "::1 and the bound host; '*' allows any. Other Host headers get 400 (DNS rebinding).",
    )
    forwarded_allow_ips: list[str] = Field(
        default_factory=list,
        description="Addresses of proxies whose X-Forwarded-For/-Proto are trusted (JSON list, "
        "'*' any); empty: none, the client address is the peer's.",
    )
    models_root: Path | None = Field(
        default=None,
        description="The only directory POST /v1/admin/model loads models from; default "
        "HOME/models.",
    )
    voice_model: str | None = Field(
        default=None,
        description="Whisper model of the voice plugin: 'tiny.en' (default, English) or 'base' "
        "(multilingual, with language detection); shorthand for FUSIONDESK_PLUGINS__VOICE__MODEL.",
    )

    text_encoder: Literal["minilm", "mpnet"] = Field(
        default="minilm",
        description="The packaged text encoder new models are trained with (train, compare, "
        "cross-validation): 'minilm' (all-MiniLM-L6-v2, 384 dims) or 'mpnet' "
        "(all-mpnet-base-v2, 768 dims, unpacked once into HOME/cache/models). A served or "
        "evaluated model loads the encoder it records; a model_path in the text plugin's "
        "settings wins over both.",
    )

    @model_validator(mode="after")
    def _configure_voice_plugin(self) -> Settings:
        """Fold ``voice_model`` into the voice plugin's settings and hand it the model cache
        (where the split Whisper base model is assembled); plugins never read settings."""
        if self.voice_model is not None:
            self.plugins.setdefault("voice", {}).setdefault("model", self.voice_model)
        if "voice" in self.plugins:
            self.plugins["voice"].setdefault("cache_dir", self.cache_dir / "models")
        return self

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.home / "models" / "demo"

    @property
    def resolved_models_root(self) -> Path:
        return self.models_root if self.models_root is not None else self.home / "models"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def knowledge_index_dir(self) -> Path:
        return self.knowledge.index_dir or self.home / "knowledge"
