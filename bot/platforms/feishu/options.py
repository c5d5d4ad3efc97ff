"""Feishu's subscription options: a custom bot's webhook URL and its signing secret.

`subscribe --platform feishu --chat NAME --webhook URL [--secret S]` (or `--option
webhook=URL`): a chat reached by a custom bot needs no app credentials."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from bot.core.platform import Option
from digest.models import Subscription

__all__ = ["OPTIONS", "SECRET", "WEBHOOK", "check_options", "webhook", "webhook_secret"]

WEBHOOK = "webhook"
SECRET = "secret"
OPTIONS: tuple[Option, ...] = (
    Option(WEBHOOK, "Feishu custom-bot webhook URL.", secret=True, flag="--webhook"),
    Option(SECRET, "Feishu webhook signing secret.", secret=True, flag="--secret"),
)


def webhook(sub: Subscription) -> str | None:
    """The custom bot's webhook URL (None: the app bot sends)."""
    return sub.option(WEBHOOK)


def webhook_secret(sub: Subscription) -> str | None:
    """The webhook's signing secret, when it has one."""
    return sub.option(SECRET)


def _good_url(url: str) -> bool:
    """https, or plain http to the loopback address (local fakes)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return bool(host) and (parts.scheme == "https" or (parts.scheme == "http" and loopback))


def check_options(options: dict[str, str]) -> str | None:
    """Why these options cannot be used, or None. Never quotes the URL or the secret."""
    if SECRET in options and WEBHOOK not in options:
        return "--secret signs a Feishu webhook: give --webhook too"
    url = options.get(WEBHOOK)
    if url is not None and not _good_url(url):
        return "--webhook must be an https:// URL (plain http only to 127.0.0.1)"
    return None
