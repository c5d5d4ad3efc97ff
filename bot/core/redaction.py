"""No secret in a log line: one redacting filter over the HTTP libraries' and the SDKs'
loggers (installed at startup by `install_redaction`, and on the log handler by
`bot.core.observability.setup_logging`), fed every token a sender or receiver uses."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from digest.errors import scrub

__all__ = [
    "HTTP_LOGGERS",
    "install_redaction",
    "known_secrets",
    "redact_in_logs",
    "redacting_filter",
    "scrub_line",
]


def scrub_line(text: str, secrets: Iterable[str | None]) -> str:
    """One line, without any of `secrets` in it, short enough for a log or a report."""
    line = scrub(text, secrets)
    return line if len(line) <= 300 else line[:300] + "…"


class _Redactor(logging.Filter):
    """Masks known secrets in the HTTP libraries' own log lines.

    httpx logs every request URL at INFO, and Telegram's URLs (the bot token) and Feishu
    webhook URLs (the hook token) are secrets.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(secret in message for secret in self.secrets):
                record.msg = scrub_line(message, self.secrets)
                record.args = ()
        return True


_REDACTOR = _Redactor()
# The HTTP libraries every platform shares; each platform adds its SDK's loggers.
HTTP_LOGGERS = ("httpx", "httpcore", "aiohttp")


def install_redaction(logger_names: Iterable[str] = HTTP_LOGGERS) -> None:
    """Set the redacting filter on these loggers (idempotent): called at startup with
    the HTTP libraries' and every platform's SDK loggers, never by an import."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


def redact_in_logs(secret: str | None, loggers: Iterable[str] = HTTP_LOGGERS) -> None:
    """Mask `secret` in the log lines of these loggers (the HTTP libraries', and the SDK's
    of the platform that uses it) from now on."""
    install_redaction(loggers)
    if secret:
        _REDACTOR.secrets.add(secret)


def known_secrets() -> frozenset[str]:
    """Every secret registered with `redact_in_logs` so far."""
    return frozenset(_REDACTOR.secrets)


def redacting_filter() -> logging.Filter:
    """The one redacting filter, for a log handler (it then sees every logger's lines)."""
    return _REDACTOR
