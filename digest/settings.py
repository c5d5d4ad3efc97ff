"""One typed settings object, read from the environment (prefix PAPERDROP_) and `.env`.

Every endpoint is configurable so that users can point at mirrors (any OpenAI-compatible
LLM, an arXiv mirror) and tests can point at local fake servers. A platform's credentials
and endpoints are its own settings (`bot/platforms/<name>/settings.py`), held in
`platforms` by name: the core knows no platform.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PAPERDROP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # Sources
    hf_base_url: str = "https://huggingface.co"
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    github_api_url: str = "https://api.github.com"
    github_token: SecretStr | None = None
    http_timeout: float = Field(20.0, gt=0, description="seconds, per HTTP request")
    http_retries: int = Field(2, ge=0, le=10, description="retries after the first attempt")
    max_retry_after: float = Field(
        120.0, ge=0, description="longest Retry-After honoured before giving up on a source"
    )
    arxiv_delay: float = Field(3.0, ge=0, description="seconds between arXiv API requests")
    arxiv_max_results: int = Field(100, ge=1, le=2000)
    lookback_days: int = Field(7, ge=0, le=60, description="how far back the window may widen")
    min_candidates: int = Field(
        0, ge=0, description="widen the window until this many candidates (0: 3x top_picks)"
    )

    # Full text (arXiv's HTML rendering, else the PDF): fetched politely, cached for all.
    arxiv_html_url: str = Field(
        "https://arxiv.org/html/", description="arXiv's HTML renderings (LaTeXML): <base><id>"
    )
    arxiv_pdf_url: str = Field("https://arxiv.org/pdf/", description="arXiv's PDFs: <base><id>")
    arxiv_fulltext_interval: float = Field(
        3.0,
        ge=0,
        description="seconds between two requests to the arXiv web hosts (one at a time, "
        "shared by every process through Redis when redis_url is set)",
    )
    arxiv_contact: str = Field(
        "",
        description="a contact (e-mail or URL) put in the User-Agent of full-text requests, "
        "as arXiv asks of automated clients",
    )
    fulltext_tokens: int = Field(
        6000,
        ge=500,
        le=100_000,
        description="tokens of paper text one /paper card or thread answer may send to the LLM",
    )
    fulltext_summary_tokens: int = Field(
        2500,
        ge=0,
        le=100_000,
        description="tokens of paper text a top pick's summary in the brief may send",
    )
    fulltext_picks: int | None = Field(
        None,
        ge=0,
        description="top picks of a brief read in full before their summaries are written "
        "(unset: the profile's top_picks; 0: none)",
    )
    fulltext_brief_budget: float = Field(
        60.0,
        ge=0,
        description="seconds a brief waits for its picks' full texts; later ones stay "
        "abstract-based",
    )
    fulltext_timeout: float = Field(
        30.0, gt=0, description="seconds per full-text request (HTML, PDF or figure)"
    )
    fulltext_retries: int = Field(
        2, ge=0, le=5, description="retries of a full-text request answered 429/503"
    )
    pdf_parse_seconds: float = Field(
        20.0,
        gt=0,
        description="time limit of parsing one PDF (in a child process, killed past it)",
    )
    pdf_parse_memory_mb: int = Field(
        1024, ge=128, description="memory limit (MiB) of the child process parsing a PDF"
    )

    # LLM (any OpenAI-compatible endpoint). The standard OPENAI_* variables work too.
    llm_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("PAPERDROP_LLM_BASE_URL", "OPENAI_BASE_URL"),
    )
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("PAPERDROP_LLM_API_KEY", "OPENAI_API_KEY"),
    )
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = Field(60.0, gt=0)
    llm_concurrency: int = Field(32, ge=1, le=256, description="parallel LLM calls")
    build_concurrency: int = Field(
        64, ge=1, le=10_000, description="briefs one process builds at once (the rest wait)"
    )
    llm_rerank: bool = True
    llm_structured: Literal["auto", "json_schema", "json_object"] = Field(
        "auto",
        description="how answers are constrained: json_schema (the SDK's structured "
        "output), json_object (JSON mode and the shape described in the prompt), or auto "
        "(json_schema, falling back to json_object for an endpoint that refuses it)",
    )
    embeddings_model: str | None = Field(
        None, description="set to join semantic similarity into the ranking blend"
    )

    # State
    redis_url: str | None = None
    redis_prefix: str = "paperdrop:"
    sqlite_path: Path = Path("~/.local/share/paperdrop/paperdrop.sqlite3")
    # A fleet (paperdrop worker): jobs and rate limits shared through Redis.
    queue: bool = Field(
        False,
        description="send the morning fan-out and LLM-heavy answers through the Redis job "
        "queue to `paperdrop worker` processes (needs redis_url); off: serve does it all",
    )
    worker_jobs: int = Field(10, ge=1, le=1000, description="jobs one worker runs at once")
    seen_ttl_days: int = Field(90, ge=1)
    watch_days: int = Field(90, ge=1, le=3650, description="how long a /watch lasts")
    watch_upvote_jump: int = Field(
        20, ge=1, description="HF upvotes gained since /watch that a watching chat is told of"
    )

    # Each platform's own settings (its `BaseSettings`, PAPERDROP_<PLATFORM>_…), by its
    # registry name. The bot fills them from the environment when it loads the settings
    # (`bot.platforms.load_settings`); given here, they override it. The core reads none.
    platforms: dict[str, BaseSettings] = Field(default_factory=dict, exclude=True, repr=False)

    # Receiving (paperdrop serve): the one HTTP server of webhooks, probes and metrics.
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    command_rate_user: int = Field(
        6, ge=1, description="LLM-backed commands one user may run per command_rate_window"
    )
    command_rate_chat: int = Field(
        20, ge=1, description="LLM-backed commands one chat may run per command_rate_window"
    )
    command_rate_window: float = Field(60.0, gt=0, description="seconds")
    max_input_chars: int = Field(2000, ge=10, description="longer messages are refused")
    shutdown_grace: float = Field(
        5.0, ge=0, description="seconds in-flight replies get to finish on SIGTERM"
    )

    # Operations: logs (bot/core/observability.py); metrics and probes are served by `serve`.
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one JSON object per log line (time, level, logger, …)"
    )
    log_salt: SecretStr | None = Field(
        None,
        description="salt of the hashed chat and user ids in logs; the same on every "
        "replica; unset: a built-in constant",
    )

    # Defaults
    profile_path: Path | None = None
    language: str | None = None

    @property
    def llm_enabled(self) -> bool:
        return self.llm_api_key is not None and bool(self.llm_api_key.get_secret_value())

    @property
    def resolved_sqlite_path(self) -> Path:
        return self.sqlite_path.expanduser()
