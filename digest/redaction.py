"""No secret in a message, an error or a log line: the one place that masks them.

* `mask` / `scrub` / `scrub_line`: a text with given secrets replaced by ***, its layout
  kept, on one line, or on one short line (errors, refusals, reasons);
* `error_text`: an exception's text so cleaned, or its type's name when nothing is left;
* `url_password` / `redact_url`: a URL's password (userinfo or ``?password=``), found or
  replaced (the Redis URL);
* the redacting log filter: every secret registered with `redact_in_logs` and every
  pattern registered with `redact_pattern_in_logs` (a token inside a URL that changes with
  each request) is masked in the lines of the loggers it is set on, and, once logging is
  set up, on the log handler (`redacting_filter`) and in the formatted text
  (`redact_known`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "HTTP_LOGGERS",
    "error_text",
    "install_redaction",
    "known_secrets",
    "mask",
    "redact_in_logs",
    "redact_known",
    "redact_pattern_in_logs",
    "redact_url",
    "redacting_filter",
    "scrub",
    "scrub_line",
    "url_password",
]

MASK = "***"
LINE_MAX = 300  # a scrubbed line for a log or a report is cut here


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every given secret replaced by ***, its layout kept (a traceback)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` on one line, with every given secret replaced by ***."""
    return " ".join(mask(text, secrets).split())


def scrub_line(text: str, secrets: Iterable[str | None]) -> str:
    """One line, without any of `secrets` in it, short enough for a log or a report."""
    line = scrub(text, secrets)
    return line if len(line) <= LINE_MAX else line[:LINE_MAX] + "…"


def error_text(exc: BaseException, secrets: Iterable[str | None]) -> str:
    """The exception's text on one line without `secrets`; its type's name if empty."""
    return scrub(str(exc), secrets) or type(exc).__name__


def url_password(url: str) -> str | None:
    """The URL's password: in its userinfo, else its ``password=`` query parameter."""
    try:
        parts = urlsplit(url)
        return parts.password or dict(parse_qsl(parts.query)).get("password")
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """The URL with its password (userinfo or ?password=) replaced by ***."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            userinfo, _, hostport = netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            netloc = f"{user}:{MASK}@{hostport}"
        pairs = [(k, MASK if k == "password" else v) for k, v in parse_qsl(parts.query)]
        query = urlencode(pairs, safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparsable URL>"


# --- log lines ---------------------------------------------------------------------------


class _Redactor(logging.Filter):
    """Masks known secrets and patterns in log lines (the HTTP libraries' own first:
    httpx logs every request URL at INFO, and Telegram's URLs hold the bot token, Feishu
    webhook URLs the hook's token, Discord's interaction webhooks the interaction's)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        # pattern -> its replacement (re.sub's), for secrets that are not known in advance
        self.patterns: dict[re.Pattern[str], str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets or self.patterns:
            message = record.getMessage()
            masked = message
            if any(secret in masked for secret in self.secrets):
                masked = scrub_line(masked, self.secrets)
            for pattern, replacement in self.patterns.items():
                masked = pattern.sub(replacement, masked)
            if masked != message:
                record.msg = masked
                record.args = ()
        return True

    def redact(self, text: str) -> str:
        """`text` with every known secret and pattern masked, its layout kept."""
        text = mask(text, self.secrets)
        for pattern, replacement in self.patterns.items():
            text = pattern.sub(replacement, text)
        return text


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


def redact_pattern_in_logs(
    pattern: re.Pattern[str], replacement: str, loggers: Iterable[str] = HTTP_LOGGERS
) -> None:
    """Replace what `pattern` matches (by `replacement`, as `re.sub` does) in the log lines
    of these loggers from now on: for a secret that differs with each request."""
    install_redaction(loggers)
    _REDACTOR.patterns[pattern] = replacement


def known_secrets() -> frozenset[str]:
    """Every secret registered with `redact_in_logs` so far."""
    return frozenset(_REDACTOR.secrets)


def redact_known(text: str) -> str:
    """`text` with every registered secret and pattern masked, its layout kept."""
    return _REDACTOR.redact(text)


def redacting_filter() -> logging.Filter:
    """The one redacting filter, for a log handler (it then sees every logger's lines)."""
    return _REDACTOR
