"""What `serve` tells its operator: structured logs and Prometheus metrics.

Logs. `setup_logging(settings, verbose)` sends every log line to stderr, as text
(`LEVEL logger: message`) or, with `PAPERDROP_LOG_FORMAT=json`, as one JSON object per
line: `time` (UTC, ISO 8601), `level`, `logger`, `message`, the record's extra fields and,
for an error, `exc` (the traceback). Chat and user ids never appear raw in structured
fields: `hashed(chat_key)` is a keyed hash (HMAC-SHA256 with `PAPERDROP_LOG_SALT`, else a
built-in constant), stable across processes and replicas so that one chat's lines can be
followed; extra fields named `chat`, `chat_id`, `chat_key`, `user` or `user_id` are hashed
by the formatter when the code did not do it. Secrets never appear: the redacting filter
of `digest.redaction` runs on the handler (so on every logger's records, not only the HTTP
libraries'), and both formatters mask every known secret (the tokens the senders and
receivers registered, every secret setting, the Redis URL's password) and pattern (Discord's
interaction tokens) in the message, the fields and the traceback.

Metrics. One `CollectorRegistry` (`REGISTRY`), served as `GET /metrics` by `serve`. The
code calls the small functions below (`count_sent`, `count_rate_limit_wait`,
`record_command`, …); labels are bounded (platform names, registered command names, a
few outcomes), never chat ids or user text.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from pydantic import SecretStr

from digest import telemetry as _core_telemetry
from digest.redaction import redact_in_logs, redact_known, redacting_filter, url_password
from digest.settings import Settings

__all__ = [
    "REGISTRY",
    "Hashed",
    "JsonFormatter",
    "TextFormatter",
    "configure_hashing",
    "count_event",
    "count_job",
    "count_push_error",
    "count_rate_limit_giveup",
    "count_rate_limit_wait",
    "count_sent",
    "count_tick",
    "hashed",
    "platform_label",
    "record_command",
    "set_jobs_running",
    "set_queue_depth",
    "set_receiver_running",
    "setup_logging",
    "time_brief_build",
]

# --- hashed ids --------------------------------------------------------------------------

# Used when PAPERDROP_LOG_SALT is unset: hashes are then the same in every deployment, so
# someone holding the logs and a guess of an id could confirm it. Set the salt in
# production (the same value on every replica, so one chat's lines stay linked).
DEFAULT_LOG_SALT = "paperdrop-log-ids-v1"
HASH_CHARS = 12  # 48 bits: no collision to speak of among millions of chats

# What a platform's registry name looks like (the core knows no names: `bot.platforms` does).
# A chat key's platform stays readable in logs; metric labels are names of adapters only.
_PLATFORM_NAME = re.compile(r"[a-z][a-z0-9_]{1,23}")
_salt: bytes = DEFAULT_LOG_SALT.encode()


class Hashed(str):
    """An id already hashed by `hashed()` (the formatter does not hash it again)."""

    __slots__ = ()


def configure_hashing(salt: str | None) -> None:
    """Use `salt` (None or empty: the built-in constant) for `hashed()` from now on."""
    global _salt
    _salt = (salt or DEFAULT_LOG_SALT).encode()


def hashed(chat_key: str) -> Hashed:
    """A stable, salted, short hash of a chat key or a user id, for log lines.

    "telegram:-1001234" -> "telegram:3f9a0c…": a platform prefix stays readable.
    """
    if isinstance(chat_key, Hashed):
        return chat_key
    text = str(chat_key)  # (str() of a Hashed would be a plain str: checked first)
    digest = hmac.new(_salt, text.encode(), hashlib.sha256).hexdigest()[:HASH_CHARS]
    platform, sep, _ = text.partition(":")
    if sep and _PLATFORM_NAME.fullmatch(platform):
        return Hashed(f"{platform}:{digest}")
    return Hashed(digest)


# --- log formatting ------------------------------------------------------------------------

# Extra fields that hold a chat or user id: hashed by the formatter unless already Hashed.
ID_FIELDS = frozenset({"chat", "chat_id", "chat_key", "user", "user_id"})

# Attributes every LogRecord has: the rest are the caller's `extra=` fields.
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

# What a formatter does to its text: mask the secrets (`digest.redaction.redact_known`).
Redact = Callable[[str], str]


def _as_is(text: str) -> str:
    return text


class TextFormatter(logging.Formatter):
    """`LEVEL logger: message` (the CLI's format), with every known secret masked."""

    def __init__(self, redact: Redact = _as_is) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line; ids hashed, secrets masked."""

    def __init__(self, redact: Redact = _as_is) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        def clean(value: Any) -> Any:
            if isinstance(value, str):
                return self._redact(value)
            if isinstance(value, bool | int | float) or value is None:
                return value
            if isinstance(value, list | tuple | set | frozenset):
                return [clean(v) for v in value]
            if isinstance(value, dict):
                return {str(k): clean(v) for k, v in value.items()}
            return self._redact(str(value))

        moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
        entry: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": clean(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRS or key.startswith("_") or key in entry:
                continue
            if key in ID_FIELDS and value is not None:
                value = hashed(value if isinstance(value, str) else str(value))
            entry[key] = clean(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc"] = clean("".join(traceback.format_exception(*record.exc_info)).rstrip())
        elif record.exc_text:
            entry["exc"] = clean(record.exc_text)
        if record.stack_info:
            entry["stack"] = clean(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is when a record is logged (tests replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _setting_secrets(settings: Settings) -> list[str]:
    """Every secret value among the settings (the platforms' too), and the Redis URL's
    password."""
    found: list[str] = []
    # The core's settings and every platform's own (`settings.platforms`).
    for model in (settings, *settings.platforms.values()):
        for name in type(model).model_fields:
            value = getattr(model, name, None)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
    password = url_password(settings.redis_url) if settings.redis_url else None
    if password:
        found.append(password)
    return found


def _settings_or_none() -> Settings | None:
    try:
        return Settings()
    except Exception:  # unusable settings are reported by the command that needs them
        return None


def setup_logging(settings: Settings | None = None, verbose: bool = False) -> None:
    """Log at INFO (`verbose`) or WARNING to stderr, as text or JSON (`log_format`).

    Idempotent: calling it again (e.g. once the settings are loaded) reconfigures the one
    handler. `settings` None: read them from the environment and `.env` as `Settings()`
    does (text logs when they cannot be read).
    """
    if settings is None:
        settings = _settings_or_none()
    log_format = settings.log_format if settings is not None else "text"
    if settings is not None:
        configure_hashing(
            settings.log_salt.get_secret_value() if settings.log_salt is not None else None
        )
        for secret in _setting_secrets(settings):
            redact_in_logs(secret)
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        handler.addFilter(redacting_filter())
        root.addHandler(handler)
    formatter: logging.Formatter = (
        JsonFormatter(redact_known) if log_format == "json" else TextFormatter(redact_known)
    )
    handler.setFormatter(formatter)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    # httpx logs full URLs at INFO, and Telegram's URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


# --- metrics -------------------------------------------------------------------------------

REGISTRY = CollectorRegistry(auto_describe=True)
# The core's own counters (LLM calls and tokens by task, source failures): digest cannot
# import bot/, so it keeps a registry that is served from here.
REGISTRY.register(_core_telemetry.REGISTRY)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

try:
    _VERSION = version("paperdrop")
except PackageNotFoundError:  # a source tree that was never installed
    _VERSION = "unknown"

_BUILD_INFO = Gauge(
    "paperdrop_build_info",
    "The running paperdrop version (always 1).",
    ["version"],
    registry=REGISTRY,
)
_BUILD_INFO.labels(version=_VERSION).set(1)

MESSAGES_SENT = Counter(
    "paperdrop_messages_sent",
    "Messages sent to a platform, by kind (answer, brief) and outcome "
    "(ok, failed, gone: the chat removed or blocked the bot, error).",
    ["platform", "kind", "outcome"],
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    "paperdrop_rate_limit_waits",
    "429 answers waited out (by their retry-after) before trying again.",
    ["platform"],
    registry=REGISTRY,
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "paperdrop_rate_limit_wait_seconds",
    "Seconds spent waiting out 429 answers.",
    ["platform"],
    registry=REGISTRY,
)
RATE_LIMIT_GIVEUPS = Counter(
    "paperdrop_rate_limit_giveups",
    "Calls given up while still rate limited (too many 429s, or a retry-after too long).",
    ["platform"],
    registry=REGISTRY,
)
EVENTS = Counter(
    "paperdrop_events",
    "Events the receivers handed to the conversation: message, click, duplicate "
    "(a retried event, ignored).",
    ["platform", "kind"],
    registry=REGISTRY,
)
COMMANDS_HANDLED = Counter(
    "paperdrop_commands",
    "Commands handled, by command (a registered name, or 'unknown') and outcome "
    "(ok, usage, unavailable: no LLM or it failed, limited, forbidden, bad_input, "
    "source_error, error, cancelled, unknown, too_long).",
    ["command", "outcome"],
    registry=REGISTRY,
)
COMMAND_SECONDS = Histogram(
    "paperdrop_command_seconds",
    "Time a command's handler took to make its answer (sending not included).",
    ["command"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
    registry=REGISTRY,
)
SCHEDULER_TICKS = Counter(
    "paperdrop_scheduler_ticks",
    "Scheduler ticks, by role: leader (held the lock), follower (another replica "
    "schedules), error (the tick failed, e.g. the Store was unreachable).",
    ["role"],
    registry=REGISTRY,
)
SCHEDULER_LEADER = Gauge(
    "paperdrop_scheduler_leader",
    "1 when this process held the scheduler lock at its last tick.",
    registry=REGISTRY,
)
SCHEDULER_LAST_TICK = Gauge(
    "paperdrop_scheduler_last_tick_timestamp_seconds",
    "Unix time of the last scheduler tick that ran to its end.",
    registry=REGISTRY,
)
PUSHES = Counter(
    "paperdrop_pushes",
    "Pushes of a day's briefs the scheduler ran, by outcome (ok, error).",
    ["outcome"],
    registry=REGISTRY,
)
PUSH_CHATS = Counter(
    "paperdrop_push_chats",
    "Chats in the scheduler's pushes, by outcome (delivered: the whole brief is there; "
    "failed: some part is missing; gone: the chat removed or blocked the bot; error: "
    "nothing could be sent, e.g. no profile, no brief or no sender; stopped: shutdown).",
    ["platform", "outcome"],
    registry=REGISTRY,
)
BRIEF_PARTS = Counter(
    "paperdrop_brief_parts",
    "Parts (messages) of briefs in the scheduler's pushes, by outcome (sent, skipped: "
    "delivered by an earlier run, failed).",
    ["platform", "outcome"],
    registry=REGISTRY,
)
BRIEFS = Counter(
    "paperdrop_briefs",
    "Briefs the scheduler's pushes needed, by outcome (built, reused: already built "
    "today for the same profile and language).",
    ["outcome"],
    registry=REGISTRY,
)
BRIEF_BUILD_SECONDS = Histogram(
    "paperdrop_brief_build_seconds",
    "Time to build one brief (sources, ranking, summaries), by outcome (ok, error, cancelled).",
    ["outcome"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200),
    registry=REGISTRY,
)
RECEIVER_RUNNING = Gauge(
    "paperdrop_receiver_running",
    "1 for each platform whose receiver is running in this process, 0 when it stopped.",
    ["platform"],
    registry=REGISTRY,
)

JOBS = Counter(
    "paperdrop_jobs",
    "Queue jobs by kind (push, answer) and event: queued (by serve), started, done, "
    "retried (handed back on shutdown) and failed (by a worker).",
    ["kind", "event"],
    registry=REGISTRY,
)
JOBS_RUNNING = Gauge(
    "paperdrop_jobs_running", "Jobs this worker is running now.", registry=REGISTRY
)
QUEUE_DEPTH = Gauge(
    "paperdrop_queue_jobs",
    "Jobs in the Redis queue by state (queued, running), read when /metrics is scraped.",
    ["state"],
    registry=REGISTRY,
)


def platform_label(name: str) -> str:
    """A platform name as a metric label: one shaped like a registry name, else \"other\"."""
    return name if _PLATFORM_NAME.fullmatch(name) else "other"


def count_sent(platform: str, outcome: str, *, kind: str = "answer", n: int = 1) -> None:
    """`n` messages sent (or not) to `platform`: outcome ok, failed, gone or error."""
    if n > 0:
        MESSAGES_SENT.labels(platform_label(platform), kind, outcome).inc(n)


def count_rate_limit_wait(platform: str, seconds: float) -> None:
    """A 429 about to be waited out for `seconds`."""
    RATE_LIMIT_WAITS.labels(platform_label(platform)).inc()
    RATE_LIMIT_WAIT_SECONDS.labels(platform_label(platform)).inc(max(seconds, 0.0))


def count_rate_limit_giveup(platform: str) -> None:
    RATE_LIMIT_GIVEUPS.labels(platform_label(platform)).inc()


def count_event(platform: str, kind: str) -> None:
    """An event from a receiver: message, click or duplicate."""
    EVENTS.labels(platform_label(platform), kind).inc()


def record_command(command: str, outcome: str, seconds: float | None = None) -> None:
    """A command handled; `seconds` (its handler's time) when it ran."""
    COMMANDS_HANDLED.labels(command, outcome).inc()
    if seconds is not None:
        COMMAND_SECONDS.labels(command).observe(seconds)


def count_tick(role: str) -> None:
    """A scheduler tick: leader, follower or error."""
    SCHEDULER_TICKS.labels(role).inc()
    if role in ("leader", "follower"):
        SCHEDULER_LEADER.set(1 if role == "leader" else 0)
        SCHEDULER_LAST_TICK.set(time.time())


def count_push_error() -> None:
    PUSHES.labels("error").inc()


@contextlib.contextmanager
def time_brief_build() -> Iterator[None]:
    """Times the block as one brief build: outcome ok, error, or cancelled (shutdown)."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except asyncio.CancelledError:
        outcome = "cancelled"
        raise
    finally:
        BRIEF_BUILD_SECONDS.labels(outcome).observe(time.perf_counter() - started)


def count_job(kind: str, event: str) -> None:
    JOBS.labels(kind, event).inc()


def set_jobs_running(n: int) -> None:
    JOBS_RUNNING.set(n)


def set_queue_depth(depth: dict[str, int]) -> None:
    for state, n in depth.items():
        QUEUE_DEPTH.labels(state).set(n)


def set_receiver_running(platform: str, running: bool) -> None:
    RECEIVER_RUNNING.labels(platform_label(platform)).set(1 if running else 0)
